"""Pure domain: no boto3, no I/O, nothing of ours imported from outside `domain`."""
