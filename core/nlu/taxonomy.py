"""The fixed intent taxonomy and its default handling (policy, not model: see [nlu] settings)."""

from __future__ import annotations

CONTAIN = ("billing_inquiry", "make_payment", "policy_details", "id_card", "update_contact",
           "claim_status", "schedule_appointment", "agency_info")
ESCALATE = ("billing_dispute", "policy_change", "coverage_advice", "new_quote", "cancel_policy",
            "file_claim", "claim_dispute", "human_request", "complaint")
OUT_OF_SCOPE = "out_of_scope"
INTENTS = (*CONTAIN, *ESCALATE, OUT_OF_SCOPE)

DEFAULT_QUEUES = {
    "billing_dispute": "service",
    "policy_change": "licensed",
    "coverage_advice": "licensed",
    "new_quote": "licensed",
    "cancel_policy": "retention",
    "file_claim": "claims",
    "claim_dispute": "claims",
    "human_request": "service",
    "complaint": "complex",
    OUT_OF_SCOPE: "service",
}
