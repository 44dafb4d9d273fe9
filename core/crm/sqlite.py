"""The embedded CRM: one SQLite file, for the demo and for agencies with nothing Warmline can reach.

sqlite3 blocks, so every call runs in a worker thread on one connection serialised by a lock:
plenty for a phone line's load, and transactions stay simple. Writes take BEGIN IMMEDIATE so a
second process on the same file waits instead of interleaving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from warmline.crm.base import CrmError, CrmUnavailable, SlotTaken, key_digest
from warmline.crm.records import (
    AgencyInfo,
    Appointment,
    AuditEntry,
    Billing,
    CallDisposition,
    Claim,
    Consent,
    Contact,
    ContactChange,
    MessageChannel,
    MessageKind,
    OutboundMessage,
    Policy,
    Record,
    Slot,
)
from warmline.privacy import private_file

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R", bound=Record)

APP_ID = 0x57524D4C  # "WRML" in PRAGMA application_id: tells our file from any other SQLite file

SCHEMA_V1 = """
CREATE TABLE agency (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, phone TEXT NOT NULL,
    street TEXT NOT NULL, city TEXT NOT NULL, state TEXT NOT NULL, zip TEXT NOT NULL, fax TEXT NOT NULL,
    hours TEXT NOT NULL, payment_phone TEXT NOT NULL, payment_mailing_address TEXT NOT NULL);
CREATE TABLE contacts (id TEXT PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
    phone TEXT NOT NULL, email TEXT NOT NULL, street TEXT NOT NULL, city TEXT NOT NULL, state TEXT NOT NULL,
    zip TEXT NOT NULL, date_of_birth TEXT NOT NULL);
CREATE INDEX contacts_phone ON contacts (phone);
CREATE TABLE policies (id TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE,
    contact_id TEXT NOT NULL REFERENCES contacts (id), line TEXT NOT NULL, status TEXT NOT NULL,
    effective TEXT NOT NULL, renewal TEXT NOT NULL, deductible_cents INTEGER NOT NULL,
    premium_cents INTEGER NOT NULL, carrier TEXT NOT NULL);
CREATE INDEX policies_contact ON policies (contact_id);
CREATE TABLE billing (policy_id TEXT PRIMARY KEY REFERENCES policies (id), balance_cents INTEGER NOT NULL,
    due_date TEXT, last_payment_cents INTEGER, last_payment_date TEXT, autopay INTEGER NOT NULL);
CREATE TABLE claims (id TEXT PRIMARY KEY, number TEXT NOT NULL UNIQUE,
    policy_id TEXT NOT NULL REFERENCES policies (id), status TEXT NOT NULL, opened TEXT NOT NULL,
    adjuster_name TEXT NOT NULL, adjuster_phone TEXT NOT NULL, next_step TEXT NOT NULL,
    expected_payment_date TEXT);
CREATE TABLE calendar_slots (id INTEGER PRIMARY KEY, producer TEXT NOT NULL, start TEXT NOT NULL,
    minutes INTEGER NOT NULL, booked INTEGER NOT NULL DEFAULT 0, UNIQUE (producer, start));
CREATE INDEX calendar_free ON calendar_slots (booked, start);
CREATE TABLE appointments (id TEXT PRIMARY KEY, contact_id TEXT NOT NULL REFERENCES contacts (id),
    slot_id INTEGER NOT NULL REFERENCES calendar_slots (id), start TEXT NOT NULL, minutes INTEGER NOT NULL,
    producer TEXT NOT NULL, topic TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE consent (contact_id TEXT NOT NULL REFERENCES contacts (id), channel TEXT NOT NULL,
    purpose TEXT NOT NULL, granted INTEGER NOT NULL, source TEXT NOT NULL, recorded TEXT NOT NULL);
CREATE TABLE notes (id TEXT PRIMARY KEY, contact_id TEXT NOT NULL REFERENCES contacts (id),
    text TEXT NOT NULL, call_id TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE outbound_messages (id TEXT PRIMARY KEY, contact_id TEXT NOT NULL REFERENCES contacts (id),
    kind TEXT NOT NULL, channel TEXT NOT NULL, destination TEXT NOT NULL, status TEXT NOT NULL,
    created TEXT NOT NULL, call_id TEXT NOT NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, call_id TEXT NOT NULL, operation TEXT NOT NULL,
    entity_ids TEXT NOT NULL, fields TEXT NOT NULL, key TEXT NOT NULL, replayed INTEGER NOT NULL);
CREATE TABLE idempotency (key TEXT PRIMARY KEY, operation TEXT NOT NULL, result TEXT NOT NULL,
    entity_ids TEXT NOT NULL, created TEXT NOT NULL)
"""

# Append, never edit: migration i brings the file to user_version i + 1. Statements are split on
# ";", so a migration must not hold ";" inside a literal or a trigger.
SCHEMA_V2 = """
CREATE TABLE dispositions (call_id TEXT NOT NULL, producer TEXT NOT NULL, by_account TEXT NOT NULL,
    disposition TEXT NOT NULL, caller_repeated INTEGER NOT NULL, queue TEXT NOT NULL, intent TEXT NOT NULL,
    notes TEXT NOT NULL, recorded TEXT NOT NULL, PRIMARY KEY (call_id, producer))
"""

MIGRATIONS: list[str] = [SCHEMA_V1, SCHEMA_V2]


# --- opening ------------------------------------------------------------------------------------

def connect(path: str | Path) -> sqlite3.Connection:
    """Open the CRM file, creating or upgrading its schema; refuse files that are not ours."""
    path = Path(path)
    if not path.parent.is_dir():
        raise CrmError(f"folder {path.parent} for the CRM database does not exist; create it or change [crm] sqlite_path")
    try:
        private_file(path, create_folder=False)
    except OSError as exc:
        raise CrmUnavailable(f"cannot create the CRM database {path} ({exc.strerror}); check the folder's "
                             "permissions and [crm] sqlite_path") from None
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5.0)
    conn.row_factory = sqlite3.Row
    try:
        _migrate(conn, path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.OperationalError as exc:  # locked, read-only, no permission: the file may well be ours
        conn.close()
        raise CrmUnavailable(f"cannot open the CRM database {path} ({exc}); check its permissions and [crm] sqlite_path") from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise CrmError(f"{path} is not a Warmline CRM database ({exc}); point [crm] sqlite_path at the right file") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    if app_id != APP_ID and (has_tables or app_id):
        raise CrmError(f"{path} is not a Warmline CRM database (it holds other data); "
                       "point [crm] sqlite_path at the Warmline CRM file or a new one")
    if version > len(MIGRATIONS):
        raise CrmError(f"{path} is from a newer Warmline (CRM schema {version}, this one knows up to "
                       f"{len(MIGRATIONS)}); upgrade Warmline or point [crm] sqlite_path at another file")
    for number in range(version + 1, len(MIGRATIONS) + 1):
        with transaction(conn):
            if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                continue  # another process migrated while we waited for the lock
            for statement in filter(str.strip, MIGRATIONS[number - 1].split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute(f"PRAGMA application_id = {APP_ID}")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def insert_record(conn: sqlite3.Connection, table: str, record: Record, **extra: Any) -> None:
    """A record as a row: its fields are the table's columns (dates as ISO text)."""
    values = {**record.model_dump(mode="json"), **extra}
    conn.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                 tuple(values.values()))


# --- helpers ------------------------------------------------------------------------------------

class Change(NamedTuple):
    """What a write did: its result, the records it touched, the names of the fields it set."""

    record: Record | None
    ids: tuple[str, ...]
    fields: tuple[str, ...]


def _cols(model: type[Record], prefix: str = "") -> str:
    return ", ".join(prefix + name for name in model.model_fields)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _local(when: datetime) -> str:
    """Slots are naive agency-local times; an aware time is converted to this machine's local time."""
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)
    return when.isoformat(timespec="seconds")


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --- the adapter --------------------------------------------------------------------------------

class SqliteCrm:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> SqliteCrm:
        return cls(await asyncio.to_thread(connect, path))

    async def _run(self, op: str, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, op, work)

    def _locked(self, op: str, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._conn is None:
                raise CrmError(f"CRM {op} called after close(); open the CRM again")
            try:
                return work(self._conn)
            except sqlite3.Error as exc:
                error = CrmUnavailable if "locked" in str(exc) or "busy" in str(exc) else CrmError
                raise error(f"CRM database error in {op}: {exc}; check the file at [crm] sqlite_path") from None

    async def _one(self, op: str, model: type[R], sql: str, *args: Any) -> R | None:
        row = await self._run(op, lambda c: c.execute(sql, args).fetchone())
        return model.model_validate(dict(row)) if row is not None else None

    async def _all(self, op: str, model: type[R], sql: str, *args: Any) -> list[R]:
        rows = await self._run(op, lambda c: c.execute(sql, args).fetchall())
        return [model.model_validate(dict(row)) for row in rows]

    # --- reads ----------------------------------------------------------------------------------

    async def agency(self) -> AgencyInfo:
        info = await self._one("agency", AgencyInfo, f"SELECT {_cols(AgencyInfo)} FROM agency")
        if info is None:
            raise CrmError("the CRM has no agency details; fill its agency table (or run `warmline crm seed` for the demo)")
        return info

    async def find_policy(self, number: str) -> Policy | None:
        return await self._one("find_policy", Policy, "SELECT * FROM policies WHERE number = ?", _digits(number))

    async def contact(self, contact_id: str) -> Contact | None:
        return await self._one("contact", Contact, "SELECT * FROM contacts WHERE id = ?", contact_id)

    async def contacts_by_phone(self, phone: str) -> list[Contact]:
        digits = _digits(phone)  # caller ID may carry the country code: match the last ten digits too
        return await self._all("contacts_by_phone", Contact, "SELECT * FROM contacts WHERE phone IN (?, ?) ORDER BY id",
                               digits, digits[-10:])

    async def policies_of(self, contact_id: str) -> list[Policy]:
        return await self._all("policies_of", Policy, "SELECT * FROM policies WHERE contact_id = ? ORDER BY number",
                               contact_id)

    async def billing(self, policy_id: str) -> Billing | None:
        return await self._one("billing", Billing, "SELECT * FROM billing WHERE policy_id = ?", policy_id)

    async def claims_of(self, contact_id: str) -> list[Claim]:
        return await self._all("claims_of", Claim, f"SELECT {_cols(Claim, 'c.')} FROM claims c JOIN policies p "
                               "ON p.id = c.policy_id WHERE p.contact_id = ? ORDER BY c.opened DESC", contact_id)

    async def find_claim(self, number: str) -> Claim | None:
        return await self._one("find_claim", Claim, "SELECT * FROM claims WHERE number = ?", _digits(number))

    async def free_slots(self, after: datetime, limit: int = 3) -> list[Slot]:
        # one offer per time (the first producer free then): callers choose a time, not a person
        return await self._all("free_slots", Slot, "SELECT start, minutes, MIN(producer) AS producer FROM calendar_slots"
                               " WHERE booked = 0 AND start > ? GROUP BY start ORDER BY start LIMIT ?",
                               _local(after), max(limit, 0))

    async def appointments_of(self, contact_id: str) -> list[Appointment]:
        return await self._all("appointments_of", Appointment, f"SELECT {_cols(Appointment)} FROM appointments "
                               "WHERE contact_id = ? ORDER BY start", contact_id)

    async def consents(self, contact_id: str) -> list[Consent]:
        return await self._all("consents", Consent, "SELECT * FROM consent WHERE contact_id = ? ORDER BY recorded",
                               contact_id)

    async def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The last `limit` writes, oldest first."""
        rows = await self._run("audit_log", lambda c: c.execute(
            "SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id", (limit,)).fetchall())
        return [AuditEntry.model_validate({**{k: row[k] for k in AuditEntry.model_fields}, "entity_ids":
                                           json.loads(row["entity_ids"]), "fields": json.loads(row["fields"])})
                for row in rows]

    # --- writes ---------------------------------------------------------------------------------

    async def _write(self, op: str, key: str, call_id: str, model: type[R] | None,
                     apply: Callable[[sqlite3.Connection], Change]) -> Any:
        digest = key_digest(key)
        result, ids, replayed = await self._run(op, lambda c: self._write_once(c, op, digest, call_id, model, apply))
        log.info("CRM %s for call %s on %s%s", op, call_id, ", ".join(ids), " (replayed)" if replayed else "")
        return result

    @staticmethod
    def _write_once(conn: sqlite3.Connection, op: str, digest: str, call_id: str, model: type[R] | None,
                    apply: Callable[[sqlite3.Connection], Change]) -> tuple[R | None, tuple[str, ...], bool]:
        with transaction(conn):
            seen = conn.execute("SELECT * FROM idempotency WHERE key = ?", (digest,)).fetchone()
            if seen is not None:  # a retry: answer as the first time, change nothing, but say so in the audit
                if seen["operation"] != op:
                    raise CrmError(f"idempotency key already used for {seen['operation']}, not {op}; "
                                   "give each write its own key")
                ids = tuple(json.loads(seen["entity_ids"]))
                _audit(conn, call_id, op, ids, (), digest, replayed=True)
                record = json.loads(seen["result"])
                return (model.model_validate(record) if model and record is not None else None), ids, True
            change = apply(conn)
            result = change.record.model_dump(mode="json") if change.record is not None else None
            conn.execute("INSERT INTO idempotency VALUES (?, ?, ?, ?, ?)",
                         (digest, op, json.dumps(result), json.dumps(change.ids), _now().isoformat()))
            _audit(conn, call_id, op, change.ids, change.fields, digest, replayed=False)
            return change.record, change.ids, False  # type: ignore[return-value]

    async def book_appointment(self, contact_id: str, slot: Slot, topic: str, *, key: str, call_id: str) -> Appointment:
        def apply(conn: sqlite3.Connection) -> Change:
            _need_contact(conn, contact_id)
            start = _local(slot.start)
            row = conn.execute("SELECT id, minutes FROM calendar_slots WHERE producer = ? AND start = ?",
                               (slot.producer, start)).fetchone()
            if row is None:
                raise CrmError(f"no calendar slot for {slot.producer} at {start}; offer only slots from free_slots")
            # the check and the claim are one statement: two calls cannot both win the slot
            if conn.execute("UPDATE calendar_slots SET booked = 1 WHERE id = ? AND booked = 0", (row["id"],)).rowcount != 1:
                raise SlotTaken("slot no longer free; offer the caller another time from free_slots")
            booked = Appointment(id=_new_id("apt"), contact_id=contact_id, start=start, minutes=row["minutes"],
                                 producer=slot.producer, topic=topic, status="booked")
            insert_record(conn, "appointments", booked, slot_id=row["id"])
            return Change(booked, (contact_id, booked.id), ("start", "minutes", "producer", "topic", "status"))
        return await self._write("book_appointment", key, call_id, Appointment, apply)

    async def cancel_appointment(self, appointment_id: str, *, key: str, call_id: str) -> Appointment:
        def apply(conn: sqlite3.Connection) -> Change:
            row = conn.execute(f"SELECT slot_id, {_cols(Appointment)} FROM appointments WHERE id = ?",
                               (appointment_id,)).fetchone()
            if row is None:
                raise CrmError(f"no appointment {appointment_id} in the CRM; cancel one listed by appointments_of")
            booked = Appointment.model_validate({k: row[k] for k in Appointment.model_fields})
            ids = (booked.contact_id, booked.id)
            if booked.status == "cancelled":
                return Change(booked, ids, ())
            conn.execute("UPDATE appointments SET status = 'cancelled' WHERE id = ?", (appointment_id,))
            conn.execute("UPDATE calendar_slots SET booked = 0 WHERE id = ?", (row["slot_id"],))  # free it again
            return Change(booked.model_copy(update={"status": "cancelled"}), ids, ("status",))
        return await self._write("cancel_appointment", key, call_id, Appointment, apply)

    async def update_contact(self, contact_id: str, change: ContactChange, *, key: str, call_id: str) -> Contact:
        fields = change.fields()

        def apply(conn: sqlite3.Connection) -> Change:
            _need_contact(conn, contact_id)
            conn.execute(f"UPDATE contacts SET {', '.join(f'{name} = ?' for name in fields)} WHERE id = ?",
                         (*fields.values(), contact_id))
            row = conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
            return Change(Contact.model_validate(dict(row)), (contact_id,), tuple(fields))
        return await self._write("update_contact", key, call_id, Contact, apply)

    async def queue_message(self, contact_id: str, kind: MessageKind, channel: MessageChannel, destination: str,
                            *, key: str, call_id: str) -> OutboundMessage:
        def apply(conn: sqlite3.Connection) -> Change:
            _need_contact(conn, contact_id)
            if not destination:
                raise CrmError(f"no {channel} destination for contact {contact_id}; ask the caller or choose another channel")
            message = OutboundMessage(id=_new_id("msg"), contact_id=contact_id, kind=kind, channel=channel,
                                      destination=destination, status="queued", created=_now())
            insert_record(conn, "outbound_messages", message, call_id=call_id)
            return Change(message, (contact_id, message.id), ("kind", "channel", "destination", "status"))
        return await self._write("queue_message", key, call_id, OutboundMessage, apply)

    async def add_note(self, contact_id: str, text: str, *, key: str, call_id: str) -> None:
        def apply(conn: sqlite3.Connection) -> Change:
            _need_contact(conn, contact_id)
            note_id = _new_id("note")
            conn.execute("INSERT INTO notes VALUES (?, ?, ?, ?, ?)",
                         (note_id, contact_id, text, call_id, _now().isoformat()))
            return Change(None, (contact_id, note_id), ("text",))
        await self._write("add_note", key, call_id, None, apply)

    async def record_disposition(self, disposition: CallDisposition, *, key: str) -> CallDisposition:
        """The first tag of a (call, producer) is kept; a second one answers with it, changing nothing."""
        d = disposition

        def apply(conn: sqlite3.Connection) -> Change:
            conn.execute("INSERT INTO dispositions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (d.call_id, d.producer, d.by, d.disposition, int(d.caller_repeated), d.queue, d.intent,
                          d.notes, d.recorded.isoformat()))
            return Change(_disposition(conn, d.call_id, d.producer), (d.call_id,),
                          ("disposition", "caller_repeated", "queue", "intent", "notes"))
        return await self._write("record_disposition", key, d.call_id, CallDisposition, apply)

    async def dispositions(self, call_id: str | None = None) -> list[CallDisposition]:
        """Stored wrap-ups (of one call, or all), oldest first."""
        where, args = ("WHERE call_id = ?", (call_id,)) if call_id else ("", ())
        rows = await self._run("dispositions", lambda c: c.execute(
            f"SELECT * FROM dispositions {where} ORDER BY recorded", args).fetchall())
        return [_disposition_of(row) for row in rows]

    async def close(self) -> None:
        def shut() -> None:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
        await asyncio.to_thread(shut)


def _disposition(conn: sqlite3.Connection, call_id: str, producer: str) -> CallDisposition:
    row = conn.execute("SELECT * FROM dispositions WHERE call_id = ? AND producer = ?", (call_id, producer)).fetchone()
    return _disposition_of(row)


def _disposition_of(row: sqlite3.Row) -> CallDisposition:
    return CallDisposition(call_id=row["call_id"], producer=row["producer"], by=row["by_account"],
                           disposition=row["disposition"], caller_repeated=bool(row["caller_repeated"]),
                           queue=row["queue"], intent=row["intent"], notes=row["notes"], recorded=row["recorded"])


def _need_contact(conn: sqlite3.Connection, contact_id: str) -> None:
    if conn.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone() is None:
        raise CrmError(f"no contact {contact_id} in the CRM; write only to a contact found by a lookup")


def _audit(conn: sqlite3.Connection, call_id: str, op: str, ids: tuple[str, ...], fields: tuple[str, ...],
           digest: str, *, replayed: bool) -> None:
    conn.execute("INSERT INTO audit (at, call_id, operation, entity_ids, fields, key, replayed) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (_now().isoformat(), call_id, op, json.dumps(ids), json.dumps(fields), digest, int(replayed)))
