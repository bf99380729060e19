"""Services: the use cases. They take ports and never touch boto3."""
