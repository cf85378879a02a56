"""The pure engine: policy, records, rules, the audit fold, the report and the digest.

Nothing here imports boto3 or reaches AWS; it works on plain data and is tested without AWS.
"""
