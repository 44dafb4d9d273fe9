"""Who the caller has proven to be on this call: one value the flow steps read, never a tuple."""

from __future__ import annotations

from dataclasses import dataclass

from warmline.crm.records import Contact, Policy
from warmline.dialog.events import VerifyMethod


class NotVerified(RuntimeError):
    """A step read the caller's account before verify_identity passed (flows.py forbids that order)."""


@dataclass(frozen=True, slots=True)
class Identity:
    verified: bool = False
    method: VerifyMethod = VerifyMethod.NONE
    attempt: int = 0  # the check that passed (0: none has)
    contact: Contact | None = None  # set exactly when verified
    policy: Policy | None = None

    def __post_init__(self) -> None:
        complete = self.contact is not None and self.policy is not None and self.method != VerifyMethod.NONE
        if self.verified != complete:
            raise ValueError("a verified Identity has a contact, a policy and a method; an unverified one none")

    @classmethod
    def passed(cls, contact: Contact, policy: Policy, method: VerifyMethod, attempt: int) -> Identity:
        return cls(True, method, attempt, contact, policy)

    def account(self) -> tuple[Contact, Policy]:
        """The verified caller's contact and policy."""
        if self.contact is None or self.policy is None:
            raise NotVerified("the caller's account was read before verify_identity passed")
        return self.contact, self.policy


UNVERIFIED = Identity()
