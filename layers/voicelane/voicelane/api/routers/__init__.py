"""One router per resource; route groups map to Lambda functions (see resources.FUNCTIONS)."""
