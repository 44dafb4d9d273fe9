"""The built-in flow steps: what the assistant can do for a verified (or any) caller.

A step talks to the caller through the conversation's `ask`/`say`, reads and writes the CRM
through `read`/`write` (which turn a slow or failing CRM into a hand-off), records what it did
as an ActionTaken event, and returns how it went. A step never decides an escalation's reason
itself except through the `Outcome` it returns; the dialogue asks the triggers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable

from warmline.crm.base import SlotTaken
from warmline.dialog import answers, readback
from warmline.dialog.events import (
    ActionTaken,
    IdentityChecked,
    VerifyFailure,
    VerifyMethod,
)
from warmline.dialog.flows import StepOptions
from warmline.dialog.identity import Identity
from warmline.speech.prompts import Characters, Digits, Prompt

if TYPE_CHECKING:
    from warmline.dialog.dialogue import Conversation


@dataclass(frozen=True, slots=True)
class Resolved:
    pass


@dataclass(frozen=True, slots=True)
class Unresolved:
    why: str  # the flow ran but could not give the caller what they asked for


@dataclass(frozen=True, slots=True)
class Missing:
    what: str  # the CRM lacks data the flow needs


@dataclass(frozen=True, slots=True)
class NeedsStaff:
    why: str  # the request is one the assistant does not do (e.g. a street address change)


@dataclass(frozen=True, slots=True)
class Transfer:
    target: str  # a hand-off that is part of self-service, e.g. the payment line


Outcome = Resolved | Unresolved | Missing | NeedsStaff | Transfer
Step = Callable[["Conversation", StepOptions], Awaitable[Outcome]]


def _done(conv: "Conversation", action: str, result: str, ok: bool = True) -> None:
    conv.emit(ActionTaken(call_id=conv.call_id, intent=conv.intent or "", action=action, ok=ok, result=result))


async def verify_identity(conv: "Conversation", _: StepOptions) -> Outcome:
    if conv.identity.verified:
        return Resolved()
    settings = conv.flows.verification
    for attempt in range(1, settings.attempts + 1):
        if await _one_verification(conv, attempt):
            await conv.say("verified")
            return Resolved()
    raise conv.out_of_attempts()  # only reached when the identity trigger is turned off for this intent


async def _one_verification(conv: "Conversation", attempt: int) -> bool:
    first = "verify_policy" if attempt == 1 else "verify_policy_retry"
    number_answer = await conv.ask(first, answers.policy_number, private=False)
    policy = await conv.read(conv.crm.find_policy(number_answer))
    contact = await conv.read(conv.crm.contact(policy.contact_id)) if policy else None
    if policy is None or contact is None:
        await conv.verification_failed(attempt, VerifyFailure.NO_SUCH_POLICY, "no_policy_found")
        return False
    factor = conv.flows.verification.second_factor
    if factor == "zip":
        said = await conv.ask("verify_zip", answers.zip_code)
        matched, method = said == contact.zip, VerifyMethod.POLICY_AND_ZIP
    else:  # date of birth asked; with "either" a ZIP in answer is accepted too
        kind, said = await conv.ask("verify_dob", lambda a: _second_factor(a, conv.today, factor == "either"))
        matched = said == (contact.date_of_birth if kind == "date_of_birth" else contact.zip)
        method = SECOND_FACTORS[kind]
    if not matched:
        await conv.verification_failed(attempt, VerifyFailure.SECOND_FACTOR_MISMATCH, None)
        return False
    conv.identity = Identity.passed(contact, policy, method, attempt)
    conv.emit(IdentityChecked(call_id=conv.call_id, verified=True, method=method, attempt=attempt,
                              contact_id=contact.id, policy_id=policy.id, name=f"{contact.first_name} {contact.last_name}",
                              why=VerifyFailure.NONE, state=contact.state.upper(), line=str(policy.line)))
    conv.triggers.on_verification(True)
    return True


SECOND_FACTORS = {"date_of_birth": VerifyMethod.POLICY_AND_DATE_OF_BIRTH, "zip": VerifyMethod.POLICY_AND_ZIP}


def _second_factor(answer, today, zip_too: bool) -> tuple[str, object] | None:
    if (born := answers.birth_date(answer, today)) is not None:
        return "date_of_birth", born
    if zip_too and (code := answers.zip_code(answer)) is not None:
        return "zip", code
    return None


async def say(conv: "Conversation", options: StepOptions) -> Outcome:
    await conv.say(options.prompt)
    return Resolved()


async def read_balance(conv: "Conversation", _: StepOptions) -> Outcome:
    _, policy = conv.identity.account()
    bill = await conv.read(conv.crm.billing(policy.id))
    if bill is None:
        return Missing("billing record")
    if bill.balance_cents <= 0:
        media = [Prompt.say("no_balance_due")]
    else:
        media = [Prompt.say("your_balance_is", *readback.money(bill.balance_cents))]
        if bill.due_date:
            media.append(Prompt.say("due_on", *readback.day(bill.due_date, conv.today)))
    if bill.last_payment_cents and bill.last_payment_date:
        media.append(Prompt.say("last_payment_of", *readback.money(bill.last_payment_cents), "on",
                                *readback.day(bill.last_payment_date, conv.today)))
    for prompt in media:
        await conv.say(prompt)
    due = f" due {bill.due_date.isoformat()}" if bill.due_date and bill.balance_cents > 0 else ""
    _done(conv, "read_balance", f"balance ${bill.balance_cents / 100:.2f}{due}")
    return Resolved()


async def read_policy(conv: "Conversation", options: StepOptions) -> Outcome:
    _, policy = conv.identity.account()
    fields = options.fields or ("number", "status", "deductible", "renewal")
    for field in fields:
        match field:
            case "number":
                await conv.say(Prompt.say("your_policy_number_is", Digits(policy.number)))
            case "status":
                await conv.say("policy_status_active" if policy.status == "active" else "policy_status_inactive")
            case "deductible":
                await conv.say(Prompt.say("your_deductible_is", *readback.money(policy.deductible_cents)))
            case "renewal":
                await conv.say(Prompt.say("renews_on", *readback.day(policy.renewal, conv.today)))
    _done(conv, "read_policy", f"read back {', '.join(fields)} of {policy.line} policy {policy.number}")
    return Resolved()


async def payment_line(conv: "Conversation", _: StepOptions) -> Outcome:
    await conv.say("payment_handoff")
    conv.port.pause_listening()  # card digits keyed on the payment line are never transcribed
    _done(conv, "payment_line", "handed to the payment line; transcription paused")
    return Transfer("payment")


async def send_id_card(conv: "Conversation", options: StepOptions) -> Outcome:
    contact, policy = conv.identity.account()
    channel = options.channel or "email"
    destination = contact.email if channel == "email" else contact.phone
    if not destination:
        await conv.say("id_card_no_contact")
        return Missing(f"{channel} on file")
    message = await conv.write("send_id_card", conv.crm.queue_message(
        contact.id, "id_card", channel, destination, key=f"{conv.call_id}:id_card:{policy.id}", call_id=conv.call_id))
    await conv.say("id_card_sent" if channel == "email" else "id_card_sent_sms")
    _done(conv, "send_id_card", f"proof of insurance queued by {channel} (message {message.id})")
    return Resolved()


NEW_VALUE = {"phone": ("new_phone", answers.phone), "email": ("new_email", answers.email),
             "zip": ("new_zip", answers.zip_code)}


async def update_contact(conv: "Conversation", options: StepOptions) -> Outcome:
    from warmline.crm.records import ContactChange

    contact, _ = conv.identity.account()
    allowed = options.fields or ("phone", "email", "zip")
    field = conv.request_field or await conv.ask("which_detail", answers.contact_field)
    if field not in allowed:
        await conv.say("address_needs_staff")
        return NeedsStaff(f"{field} change is not self-service")
    question, parse = NEW_VALUE[field]
    value = await conv.ask(question, parse)
    shown = Characters(value) if field == "email" else Digits(value)
    if not await conv.confirm(Prompt.say("contact_read_back", shown, "confirm_yes_no")):
        await conv.say("contact_not_changed")
        return Unresolved(f"caller did not confirm the new {field}")
    await conv.write("update_contact", conv.crm.update_contact(
        contact.id, ContactChange(**{field: value}), key=f"{conv.call_id}:contact:{field}", call_id=conv.call_id))
    await conv.say("contact_updated")
    _done(conv, "update_contact", f"{field} updated after read-back")
    return Resolved()


BOOKING_ROUNDS = 2  # offers made again when the chosen time was taken in the meantime


async def book_appointment(conv: "Conversation", options: StepOptions) -> Outcome:
    contact, _ = conv.identity.account()
    for _ in range(BOOKING_ROUNDS):
        slots = await conv.read(conv.crm.free_slots(conv.now, limit=options.offers or 2))
        if not slots:
            await conv.say("appointment_none")
            return Missing("open appointment slots")
        slot = await _chosen(conv, slots)
        if slot is None:
            _done(conv, "book_appointment", f"{len(slots)} slots offered, none suited", ok=False)
            return Unresolved("no offered time suited the caller")
        booked = await conv.write("book_appointment", _unless_taken(conv.crm.book_appointment(
            contact.id, slot, conv.intent, key=f"{conv.call_id}:appointment", call_id=conv.call_id)))
        if booked is not None:
            await conv.say(Prompt.say("appointment_booked"))
            _done(conv, "book_appointment", f"booked {booked.start:%Y-%m-%d %H:%M} with {booked.producer}")
            return Resolved()
        await conv.say("appointment_taken")  # another caller (or the front desk) booked it meanwhile
    _done(conv, "book_appointment", "the times the caller chose were taken while they chose", ok=False)
    return Unresolved("the chosen times were taken by others")


async def _chosen(conv: "Conversation", slots: list) -> object | None:
    for n, slot in enumerate(slots):
        opener = "appointment_offer" if n == 0 else "appointment_or"
        if await conv.confirm(Prompt.say(opener, *readback.slot(slot.start, conv.today), "appointment_which")):
            return slot
    return None


async def _unless_taken(booking: Awaitable):
    """The booking, or None when the slot went to someone else first."""
    try:
        return await booking
    except SlotTaken:
        return None


CLAIM_DONE = {"closed", "paid"}


async def read_claim_status(conv: "Conversation", _: StepOptions) -> Outcome:
    contact, _ = conv.identity.account()
    claims = await conv.read(conv.crm.claims_of(contact.id))
    live = sorted((c for c in claims if c.status not in CLAIM_DONE), key=lambda c: c.opened, reverse=True)
    claim = live[0] if live else max(claims, key=lambda c: c.opened, default=None)
    if claim is None:
        await conv.say("no_claims_found")
        return Unresolved("no claim on the account")
    await conv.say(Prompt.say("claim_number_is", Digits(claim.number), f"claim_status_{claim.status}"))
    if claim.adjuster_phone and claim.status not in CLAIM_DONE:
        await conv.say(Prompt.say("your_adjuster_is", Digits(claim.adjuster_phone)))
    if claim.expected_payment_date and claim.status == "approved":
        await conv.say(Prompt.say("payment_expected", *readback.day(claim.expected_payment_date, conv.today)))
    _done(conv, "read_claim_status", f"claim {claim.number}: {claim.status}")
    return Resolved()


async def office_info(conv: "Conversation", _: StepOptions) -> Outcome:
    words = f" {conv.request_text.lower()} "
    wanted = [key for key, cues in (("office_address", (" address", "where", "located", "directions")),
                                    ("payment_mailing", (" mail", "send a check", "po box")),
                                    ("office_hours", ("hour", "open", "close")))
              if any(c in words for c in cues)] or ["office_hours", "office_address"]
    for key in wanted:
        await conv.say(key)
    _done(conv, "office_info", f"said {', '.join(wanted)}")
    return Resolved()


STEPS: dict[str, Step] = {
    "verify_identity": verify_identity, "say": say, "read_balance": read_balance, "read_policy": read_policy,
    "payment_line": payment_line, "send_id_card": send_id_card, "update_contact": update_contact,
    "book_appointment": book_appointment, "read_claim_status": read_claim_status, "office_info": office_info,
}
