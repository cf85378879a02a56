"""Adapters to AWS: CloudHSM listings side by side, and delivery to S3 and SNS."""
