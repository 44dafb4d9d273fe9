"""A fictitious demo agency in the embedded CRM, the same every run for a given `today`.

Tests and the demo refer to its callers through the DEMO_* constants below, so the facts they
check (a policy number, a balance, a due date) live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from warmline.crm.base import CrmError
from warmline.crm.records import (
    AgencyInfo,
    Billing,
    Claim,
    Consent,
    Contact,
    Policy,
    Record,
)
from warmline.crm.sqlite import connect, insert_record, transaction

DEMO_AGENCY = AgencyInfo(
    name="Harbor Point Insurance Agency", phone="5550140", street="120 Harbor Street", city="Portland", state="ME",
    zip="04101", fax="5550141", hours="Monday to Friday, 8:30 AM to 5 PM; Saturday mornings by appointment",
    payment_phone="5550142", payment_mailing_address="PO Box 42, Portland, ME 04112")
DEMO_PRODUCERS = ("Ellen Park", "Marcus Reed")
SLOT_MINUTES, FIRST_HOUR, LAST_HOUR, BUSINESS_DAYS = 30, 9, 16, 10


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """The facts a scripted caller knows and a test checks."""

    contact_id: str
    first_name: str
    last_name: str
    phone: str
    email: str
    zip: str
    date_of_birth: date
    date_of_birth_spoken: str  # as a caller says it
    policy_id: str
    policy_number: str
    balance_cents: int | None  # None: the policy has no billing row
    due_in_days: int | None  # the due date is today + this
    claim_number: str | None

    def due_date(self, today: date) -> date | None:
        return today + timedelta(days=self.due_in_days) if self.due_in_days is not None else None

    @property
    def balance_prompt(self) -> str:
        """The balance read-back as the prompt media the caller hears ("your_balance_is number:128 ...")."""
        dollars, cents = divmod(self.balance_cents or 0, 100)
        return f"your_balance_is number:{dollars} dollars" + (f" and_cents number:{cents} cents" if cents else "")


DEMO_CALLER = DemoPerson(
    contact_id="C1001", first_name="Maria", last_name="Alvarez", phone="5550100", email="maria.alvarez@example.com",
    zip="02108", date_of_birth=date(1980, 3, 5), date_of_birth_spoken="march fifth nineteen eighty",
    policy_id="P1001", policy_number="40061234", balance_cents=12840, due_in_days=9, claim_number="7300112")
DEMO_NO_BILLING = DemoPerson(
    contact_id="C1004", first_name="Thomas", last_name="Becker", phone="5550103", email="t.becker@example.com",
    zip="04102", date_of_birth=date(1974, 7, 22), date_of_birth_spoken="july twenty second nineteen seventy four",
    policy_id="P1004", policy_number="40064567", balance_cents=None, due_in_days=None, claim_number=None)
DEMO_APPROVED_CLAIM = "7300245"  # James Okafor's: approved, adjuster assigned, payment expected today + 5


def _contacts() -> list[Contact]:
    c = DEMO_CALLER
    return [
        Contact(id=c.contact_id, first_name=c.first_name, last_name=c.last_name, phone=c.phone, email=c.email,
                street="14 Beacon Street", city="Boston", state="MA", zip=c.zip, date_of_birth=c.date_of_birth),
        Contact(id="C1002", first_name="James", last_name="Okafor", phone="5550101", email="jokafor@example.com",
                street="88 Fore Street", city="Portland", state="ME", zip="04101", date_of_birth=date(1966, 11, 30)),
        Contact(id="C1003", first_name="Priya", last_name="Natarajan", phone="5550102", email="",
                street="5 Elm Avenue", city="South Portland", state="ME", zip="04106", date_of_birth=date(1991, 1, 17)),
        Contact(id=DEMO_NO_BILLING.contact_id, first_name="Thomas", last_name="Becker", phone=DEMO_NO_BILLING.phone,
                email=DEMO_NO_BILLING.email, street="230 Brighton Avenue", city="Portland", state="ME",
                zip=DEMO_NO_BILLING.zip, date_of_birth=DEMO_NO_BILLING.date_of_birth),
        Contact(id="C1005", first_name="Grace", last_name="Liu", phone="5550104", email="grace.liu@example.com",
                street="17 Pine Street", city="Westbrook", state="ME", zip="04092", date_of_birth=date(1998, 6, 9)),
        Contact(id="C1006", first_name="Robert", last_name="Dubois", phone="5550105", email="rdubois@example.com",
                street="402 Route 1", city="Falmouth", state="ME", zip="04105", date_of_birth=date(1958, 9, 14)),
    ]


def _policies(today: date) -> list[Policy]:
    def policy(pid: str, number: str, contact: str, line: str, status: str, months_ago: int, deductible: int,
               premium: int, carrier: str) -> Policy:
        year, month = divmod(today.year * 12 + today.month - 1 - months_ago, 12)  # 1st of a month: one-year terms
        return Policy(id=pid, number=number, contact_id=contact, line=line, status=status,
                      effective=date(year, month + 1, 1), renewal=date(year + 1, month + 1, 1),
                      deductible_cents=deductible, premium_cents=premium, carrier=carrier)
    return [
        policy(DEMO_CALLER.policy_id, DEMO_CALLER.policy_number, "C1001", "auto", "active", 4, 50000, 154080, "Granite Mutual"),
        policy("P1007", "40065678", "C1001", "home", "active", 7, 100000, 98000, "Casco Bay Fire & Casualty"),
        policy("P1002", "40062345", "C1002", "auto", "active", 9, 100000, 188000, "Granite Mutual"),
        policy("P1003", "40063456", "C1003", "home", "active", 2, 250000, 132500, "Casco Bay Fire & Casualty"),
        policy(DEMO_NO_BILLING.policy_id, DEMO_NO_BILLING.policy_number, "C1004", "auto", "active", 5, 50000, 121000,
               "Granite Mutual"),
        policy("P1005", "40067890", "C1005", "renters", "lapsed", 11, 25000, 18000, "Northway Insurance"),
        policy("P1006", "40068901", "C1006", "home", "active", 6, 100000, 164000, "Casco Bay Fire & Casualty"),
        policy("P1008", "40069012", "C1006", "umbrella", "active", 6, 0, 29500, "Northway Insurance"),
    ]


def _billing(today: date) -> list[Billing]:
    ago, ahead = (lambda n: today - timedelta(days=n)), (lambda n: today + timedelta(days=n))
    return [  # none for DEMO_NO_BILLING's policy: the "CRM lacks the data" path
        Billing(policy_id=DEMO_CALLER.policy_id, balance_cents=DEMO_CALLER.balance_cents, due_date=DEMO_CALLER.due_date(today),
                last_payment_cents=12840, last_payment_date=ago(21), autopay=False),
        Billing(policy_id="P1007", balance_cents=0, due_date=None, last_payment_cents=8167, last_payment_date=ago(12), autopay=True),
        Billing(policy_id="P1002", balance_cents=31333, due_date=ahead(3), last_payment_cents=31333,
                last_payment_date=ago(27), autopay=False),
        Billing(policy_id="P1003", balance_cents=11042, due_date=ahead(16), last_payment_cents=11042,
                last_payment_date=ago(14), autopay=True),
        Billing(policy_id="P1005", balance_cents=4500, due_date=ago(20), last_payment_cents=None,
                last_payment_date=None, autopay=False),
        Billing(policy_id="P1006", balance_cents=0, due_date=None, last_payment_cents=164000,
                last_payment_date=ago(40), autopay=False),
    ]


def _claims(today: date) -> list[Claim]:
    ago = lambda n: today - timedelta(days=n)
    return [
        Claim(id="CL1", number=DEMO_CALLER.claim_number, policy_id=DEMO_CALLER.policy_id, status="under_review",
              opened=ago(6), adjuster_name="Dana Whitaker", adjuster_phone="5550188",
              next_step="the adjuster will inspect the vehicle"),
        Claim(id="CL2", number=DEMO_APPROVED_CLAIM, policy_id="P1002", status="approved", opened=ago(30),
              adjuster_name="Sam Ortiz", adjuster_phone="5550189", next_step="payment is being issued",
              expected_payment_date=today + timedelta(days=5)),
        Claim(id="CL3", number="7300378", policy_id="P1003", status="paid", opened=ago(90),
              adjuster_name="Dana Whitaker", adjuster_phone="5550188", next_step="nothing further is needed"),
        Claim(id="CL4", number="7300401", policy_id="P1006", status="open", opened=ago(1),
              next_step="an adjuster will be assigned within two business days"),
    ]


def _consents(today: date) -> list[Consent]:
    when = datetime.combine(today - timedelta(days=200), datetime.min.time()).replace(hour=10)
    given = [("C1001", "voice", "service", True), ("C1001", "sms", "service", True), ("C1001", "email", "marketing", False),
             ("C1002", "voice", "service", True), ("C1002", "email", "service", True), ("C1003", "sms", "service", False),
             ("C1004", "voice", "service", True), ("C1005", "email", "marketing", True), ("C1006", "voice", "service", True)]
    return [Consent(contact_id=cid, channel=ch, purpose=pu, granted=g, source="signed application", recorded=when)
            for cid, ch, pu, g in given]


def _slot_starts(today: date) -> list[datetime]:
    """Every half hour from 9:00 to the last start before 16:00 on the next ten business days."""
    days, day = [], today
    while len(days) < BUSINESS_DAYS:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    per_day = (LAST_HOUR - FIRST_HOUR) * 60 // SLOT_MINUTES
    return [datetime.combine(d, datetime.min.time()).replace(hour=FIRST_HOUR) + timedelta(minutes=SLOT_MINUTES * n)
            for d in days for n in range(per_day)]


def seed_demo(crm_path: str | Path, today: date) -> None:
    """Fill `crm_path` with the demo agency (replacing an earlier demo; refusing a real agency's data)."""
    conn = connect(crm_path)
    try:
        row = conn.execute("SELECT name FROM agency").fetchone()
        if row is not None and row["name"] != DEMO_AGENCY.name:
            raise CrmError(f"{crm_path} holds a real agency's CRM, not the demo; seed a new file instead")
        with transaction(conn):
            for table in ("appointments", "notes", "outbound_messages", "consent", "claims", "billing", "policies",
                          "contacts", "calendar_slots", "agency", "audit", "idempotency"):
                conn.execute(f"DELETE FROM {table}")
            insert_record(conn, "agency", DEMO_AGENCY, id=1)
            tables: list[tuple[str, list[Record]]] = [
                ("contacts", _contacts()), ("policies", _policies(today)), ("billing", _billing(today)),
                ("claims", _claims(today)), ("consent", _consents(today))]
            for table, records in tables:
                for record in records:
                    insert_record(conn, table, record)
            conn.executemany("INSERT INTO calendar_slots (producer, start, minutes) VALUES (?, ?, ?)",
                             [(p, s.isoformat(timespec="seconds"), SLOT_MINUTES)
                              for s in _slot_starts(today) for p in DEMO_PRODUCERS])
            _book_existing(conn, today)
    finally:
        conn.close()


def _book_existing(conn, today: date) -> None:
    """One appointment already on the calendar, so the first morning is not wide open."""
    start = _slot_starts(today)[0].isoformat(timespec="seconds")
    slot = conn.execute("SELECT id FROM calendar_slots WHERE producer = ? AND start = ?",
                        (DEMO_PRODUCERS[0], start)).fetchone()["id"]
    conn.execute("UPDATE calendar_slots SET booked = 1 WHERE id = ?", (slot,))
    conn.execute("INSERT INTO appointments VALUES ('apt-demo-1', 'C1002', ?, ?, ?, ?, 'policy_review', 'booked')",
                 (slot, start, SLOT_MINUTES, DEMO_PRODUCERS[0]))


def seed_command(path: str | Path, today: date | None = None) -> int:
    """`warmline crm seed PATH`: a CrmError propagates for the CLI to print."""
    today = today or date.today()
    seed_demo(path, today)
    print(f"seeded the demo agency '{DEMO_AGENCY.name}' into {path} "
          f"(demo caller policy {DEMO_CALLER.policy_number}, dates relative to {today.isoformat()})")
    return 0
