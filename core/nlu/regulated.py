"""Regulated-topic signals that veto "contain" whatever the intent model's argmax says.

The model learned its authors' phrasing; real customers put a licensed request in the words of a
routine one ("why was I charged twice" reads like a billing question, "does my policy have glass
coverage" like policy details, "my car is paid off now" like a contact update). Treating such a
request as routine is the worst failure the product has, so these phrasings are caught by
patterns over the words the model reads (`canonical`: lower case, shorthand spelled out, no
apostrophes), each naming the escalate-class intent it points to. Written from the taxonomy and
the failure patterns described in issue 17, never from an evaluation set.

A veto only ever moves a turn from "contain" to "escalate": a false signal costs a producer a
minute, a missed one sends a licensed question to the AI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from warmline.nlu.features import canonical

_VEHICLE = r"(car|truck|vehicle|van|suv|motorcycle|boat|rv|jeep)"
_PROPERTY = r"(car|truck|vehicle|van|suv|motorcycle|boat|rv|jeep|house|home|condo|property)"
_FAMILY = r"(son|daughter|kid|child|teen\w*|wife|husband|spouse|partner|fiance\w*|boyfriend|girlfriend)"
_UNHAPPY = (r"(not happy|unhappy|problem|wrong|unfair|disagree\w*|upset|frustrat\w*|appeal\w*|lowball\w*|"
            r"too low|not enough|not fair|ridiculous|unacceptable|dispute\w*|dissatisfied|taking forever|"
            r"nobody|no one|never (called|heard))")
_TAKEN = r"(charged|billed|debited|drafted|withdrawn|deducted|pulled|taken|took)"


@dataclass(frozen=True, slots=True)
class Signal:
    name: str  # which pattern: said in logs and by `warmline classify`, never the caller's words
    intent: str  # the escalate-class intent it points to
    pattern: re.Pattern[str]


def _s(name: str, intent: str, pattern: str) -> Signal:
    return Signal(name, intent, re.compile(pattern))


SIGNALS: tuple[Signal, ...] = (
    # money disputes: refunds asked for, fees to waive, double charges, payments to undo, "why was I charged"
    _s("refund", "billing_dispute",
       r"\b(want|need|like|request|deserve|entitled to) (me |us )?(a |my |the |our )?refund\b"
       r"|\b(get|give me|owe me|owed) a refund\b|\brefund (me|us|it|that|this|the)\b|\breimburse (me|us)\b|\bmoney back\b"),
    _s("fee_waiver", "billing_dispute",
       r"\b(waive|waived|remove|take off|reverse|drop)\b.{0,30}\b(fee|fees|penalty|penalties|late charge|service charge)\b"),
    _s("fee_why", "billing_dispute", r"\bwhy\b.{0,40}\b(fee|fees|penalty|penalties)\b"),
    _s("double_charge", "billing_dispute",
       rf"\b(double|duplicate|duplicated)\b.{{0,5}}\b(charges?|payments?|withdrawals?|drafts?)\b"
       rf"|\b({_TAKEN[1:-1]}|paid)\b (me |us |it )?(twice|two times|2 times|double)\b"),
    _s("why_charged", "billing_dispute", rf"\bwhy (was|were|am|did|have|has|is) (i|we|you|they|it|this) (been |being )?{_TAKEN}\b"),
    _s("wrong_charge", "billing_dispute",
       r"\b(overcharg\w*|over charg\w*|wrong (amount|charge)|incorrect (amount|charge)|"
       r"(did not|never) (authoriz\w*|agree\w*|approv\w*)|unauthori[sz]ed|not authori[sz]ed|"
       r"shouldnt (have been|be) charged|should not (have been|be) charged)\b"),
    _s("undo_payment", "billing_dispute",
       r"\b(cancel|stop|undo|reverse|void)\b (that|the|this|my|a|last|yesterdays|todays)? ?(payment|charge|transaction|withdrawal)\b"),
    _s("dispute", "billing_dispute", r"\b(dispute\w*|chargeback|charge back)\b"),
    # unhappy about a claim (not asking its status)
    _s("claim_unhappy", "claim_dispute", rf"\b{_UNHAPPY}\b.{{0,50}}\bclaims?\b|\bclaims?\b.{{0,50}}\b{_UNHAPPY}\b"),
    # what a policy covers, and how long a right lasts
    _s("is_it_covered", "coverage_advice",
       r"^(?!.*\b(lapse\w*|active|reinstat\w*)\b)(?!.*\bcovered (right now|rn|again|now)\b).*"
       r"(?<!how much )(?<!who )\b(am i|are we|are they|is (it|that|this|he|she|my \w+)|would (it|that|i|we) be|"
       r"will (it|that|i|we) be)\b.{0,20}\bcovered\b|\bcovered (if|when|in case)\b"),
    _s("does_it_cover", "coverage_advice",
       r"\b(does|do|would|will|doesnt|dont)\b.{0,40}\b(cover|covers|pay for)\b"
       r"|\b(does|would|will) (my|the|this|our) (policy|insurance|plan|coverage)\b.{0,30}\b(include\w*|have|offer\w*)\b"),
    _s("claim_time_limit", "coverage_advice",
       r"\b(time limit|deadline|how long (do|does|would|will) (i|we|you|someone) have|too late)\b.{0,30}\b(claim|file|report)\w*\b"),
    _s("coverage_need", "coverage_advice",
       r"\b(should i|do i need|do we need) (get|buy|add|carry|have|more|extra|additional)\b.{0,25}\b(coverage|insurance|umbrella|limits?)\b"
       r"|\b(is it worth|would you recommend|do you recommend|what do you recommend)\b"),
    # the price of coverage not held yet
    _s("price_of_coverage", "new_quote",
       r"\bhow much (more |extra |less )?\b.{0,20}\b(would|will|to)\b.{0,40}\b(add|adding|increase|increasing|raise|raising|"
       r"insure|insuring|get|getting|switch\w*|bundle|bundling|lower|lowering)\b"),
    _s("what_would_cost", "new_quote",
       r"\bwhat (would|will)\b.{0,40}\b(cost|run me)\b|\bhow much (would|will)\b.{0,30}\b(insurance|policy|coverage)\b.{0,15}\bcost\b"),
    _s("quote", "new_quote", r"^(?!.*\b(appointment|meeting|sit down|book|dont need a quote)\b).*\b(quote|quotes|quoted)\b"),
    # changes stated as facts
    _s("lien_paid_off", "policy_change",
       r"\bpaid off\b|\b(no|no longer|dont) (have )?(a |any )?(lien\w*|loan)\b|\blien\w*\b.{0,20}\b(released|removed|gone)\b"),
    _s("sold_or_bought", "policy_change",
       rf"^(?!.*\baddress\b).*\b(sold|traded in|bought|purchased|leased|financed)\b.{{0,20}}\b(a |an |my |our |the )?(new |used |another )?{_PROPERTY}\b"),
    _s("household_change", "policy_change",
       r"^(?!.*\b(name|maiden|address|moved)\b).*\b((got|getting|just) (married|divorced|separated)|"
       r"(we are|were|im|i am) (getting )?(divorced|separated))\b"
       r"|\bex (husband|wife|spouse|partner)\w*\b.{0,30}\b(name|off|remove\w*|no longer|moved out|not on)\b"),
    _s("driver_change", "policy_change",
       rf"^(?!.*\b(contact|appointment)\b).*\b(add|remove|take off|drop|put)\b.{{0,25}}\b(driver|drivers|{_VEHICLE[1:-1]}|{_FAMILY[1:-1]})\b"
       rf"|\b{_FAMILY} (just )?(got|has|passed|is getting|gets) (his|her|their|a) (license|licence|permit)\b|\bnew driver\b"),
    _s("deductible_change", "policy_change",
       r"\b(raise|lower|increase|decrease|change|switch)\b.{0,20}\b(deductible|limits?)\b"),
    # leaving, and anger about the service
    _s("cancel_policy", "cancel_policy",
       r"(?<!dont )(?<!not )(?<!after )\b(cancel|canceling|cancelling|terminate|terminating|end|drop)\b.{0,20}\b(policy|policies|insurance|coverage)\b"
       r"|\b(switch\w*|moving|move|go|going) (my \w+ )?(to|with) (another|a different|a new|a cheaper) "
       r"(company|insurer|carrier|agency|provider)\b|\bfound (a )?cheaper\b|\b(dont|do not) (want to )?renew\b"),
    _s("complaint", "complaint",
       r"\b(complain\w*|terrible|horrible|awful|worst|unacceptable|rude|unprofessional|disgusted|fed up|ripped off|scam)\b"),
)

_BY_NAME = {s.name: s for s in SIGNALS}


def regulated_signal(text: str, escalating: frozenset[str] | set[str] | None = None) -> Signal | None:
    """The first signal found in the turn's words, among those whose intent still escalates."""
    words = canonical(text)
    for signal in SIGNALS:
        if (escalating is None or signal.intent in escalating) and signal.pattern.search(words):
            return signal
    return None


def signal_named(name: str) -> Signal:
    return _BY_NAME[name]
