"""An AWS Organization in moto: the management account is moto's default account.

Members are created with Organizations' CreateAccount; seed each member's CloudHSM with
`Fleet(account_id)`. moto lets `sts.assume_role` into any role of any account, so a scan
through member roles lands in each member's own backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3

ORGANIZATIONS_REGION = "us-east-1"


@dataclass
class Organization:
    client: Any
    root: str

    @classmethod
    def create(cls, endpoint_url: str | None = None) -> Organization:
        client = boto3.client(
            "organizations", region_name=ORGANIZATIONS_REGION, endpoint_url=endpoint_url
        )
        client.create_organization(FeatureSet="ALL")
        return cls(client, client.list_roots()["Roots"][0]["Id"])

    def add_accounts(self, count: int, parent: str | None = None) -> list[str]:
        """`count` new ACTIVE members, at the root or moved under `parent`."""
        ids = []
        for n in range(count):
            status = self.client.create_account(AccountName=f"member-{n}", Email=f"m{n}@x.test")
            account_id = str(status["CreateAccountStatus"]["AccountId"])
            if parent:
                self.client.move_account(
                    AccountId=account_id, SourceParentId=self.root, DestinationParentId=parent
                )
            ids.append(account_id)
        return ids

    def add_unit(self, parent: str, name: str) -> str:
        unit = self.client.create_organizational_unit(ParentId=parent, Name=name)
        return str(unit["OrganizationalUnit"]["Id"])

    def close(self, account_id: str) -> None:
        """moto shows a closed account as SUSPENDED."""
        self.client.close_account(AccountId=account_id)
