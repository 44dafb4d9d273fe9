"""The flow file: what the assistant says and does, in YAML an admin can read and change.

Validated once at start-up, with one-line errors that name the place in the file and the fix:
a typo in a step or prompt name must stop `warmline serve` (and fail `warmline check`), never
surface as a caller left hanging mid-flow. Steps are the built-in actions in `steps.py`; the
file chooses which run for each intent, in what order, and with which options.
"""

from __future__ import annotations

import difflib
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from warmline.dialog.triggers import TriggerSettings
from warmline.errors import WarmlineError, shown_key
from warmline.nlu.taxonomy import CONTAIN, INTENTS


class FlowError(WarmlineError):
    """The flow file is missing, malformed, or names something that does not exist."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepOptions(_Strict):
    """Options a step accepts; each step reads the ones it knows (see STEP_OPTIONS)."""

    prompt: str | None = None  # say
    fields: tuple[str, ...] | None = None  # read_policy, update_contact
    channel: Literal["email", "sms"] | None = None  # send_id_card: where proof of insurance goes
    offers: int | None = Field(None, ge=1, le=5)  # book_appointment: slots offered in turn


# step name → the options it accepts, and whether it needs a verified caller
STEP_OPTIONS: dict[str, tuple[set[str], bool]] = {
    "verify_identity": (set(), False),
    "say": ({"prompt"}, False),
    "read_balance": (set(), True),
    "read_policy": ({"fields"}, True),
    "payment_line": (set(), False),
    "send_id_card": ({"channel"}, True),
    "update_contact": ({"fields"}, True),
    "book_appointment": ({"offers"}, True),
    "read_claim_status": (set(), True),
    "office_info": (set(), False),
}
FIELD_CHOICES = {
    "read_policy": {"number", "deductible", "renewal", "status"},
    "update_contact": {"phone", "email", "zip"},
}


class Step(_Strict):
    name: str
    options: StepOptions = StepOptions()


class IntentFlow(_Strict):
    steps: tuple[Step, ...]
    confirm: bool = Field(True, description='ask "did that answer your question?" after the steps')

    @field_validator("steps", mode="before")
    @classmethod
    def _expand(cls, raw: Any) -> Any:
        """`- read_balance` or `- read_policy: {fields: [number]}` → Step."""
        if not isinstance(raw, list) or not raw:
            raise ValueError("steps must be a non-empty list")
        return [_step(item, i) for i, item in enumerate(raw)]

    @model_validator(mode="after")
    def _verified_first(self) -> "IntentFlow":
        verified = False
        for step in self.steps:
            verified |= step.name == "verify_identity"
            if STEP_OPTIONS[step.name][1] and not verified:
                raise ValueError(f"step {step.name} reads the caller's account: put verify_identity before it")
        return self


class Verification(_Strict):
    attempts: int = Field(3, ge=1, le=5, description="tries before the caller goes to a person")
    second_factor: Literal["date_of_birth", "zip", "either"] = "either"


class FlowPrompts(_Strict):
    """The catalog keys of the fixed parts of every call."""

    greeting: str = "greeting"  # carries the AI disclosure: played whole, no barge-in
    open_question: str = "how_can_i_help"
    clarify: str = "clarify"
    didnt_catch: str = "didnt_catch"
    still_there: str = "still_there"
    hold_on: str = "one_moment"  # the caller's words are taking long to decode: said once per question
    did_that_help: str = "did_that_help"
    anything_else: str = "anything_else"
    what_else: str = "what_else"
    goodbye: str = "goodbye"
    to_person: str = "transfer_to_person"
    to_licensed: str = "warm_transfer"


class SurveyAfterCall(StrEnum):
    """Which calls end with the satisfaction survey."""

    CONTAINED = "contained"  # the AI resolved the call (the caller said that's all): the dialogue asks
    ESCALATED = "escalated"  # a producer took it and hung up first: the PBX asks ([warmline-survey])


class Survey(_Strict):
    """The post-call satisfaction survey: one question, answered 1-5 by key or a spoken number."""

    enabled: bool = False
    question: str = Field("survey_question", min_length=1)  # prompt keys; the PBX plays the same built sounds
    thanks: str = Field("survey_thanks", min_length=1)  # said after an answer, before the goodbye
    after: tuple[SurveyAfterCall, ...] = (SurveyAfterCall.CONTAINED, SurveyAfterCall.ESCALATED)

    @model_validator(mode="after")
    def _asked_somewhere(self) -> "Survey":
        if self.enabled and not self.after:
            raise ValueError("survey is enabled but asked after no call: set after: [contained, escalated] "
                             "(or one of them)")
        return self

    def asks_after(self, kind: SurveyAfterCall) -> bool:
        return self.enabled and kind in self.after


REASON_QUEUES = {"negative_sentiment": "complex"}  # any other reason not tied to an intent: "service"


class Flows(_Strict):
    version: Literal[1]
    prompts: FlowPrompts = FlowPrompts()
    verification: Verification = Verification()
    intents: dict[str, IntentFlow]
    triggers: TriggerSettings = TriggerSettings()
    survey: Survey = Survey()
    reason_queues: dict[str, str] = Field(default_factory=lambda: dict(REASON_QUEUES))

    @field_validator("intents")
    @classmethod
    def _known(cls, intents: dict[str, IntentFlow]) -> dict[str, IntentFlow]:
        for name in intents:
            if name not in CONTAIN:
                raise ValueError(f"no flow can serve {name!r}: flows are for the routine intents "
                                 f"{', '.join(CONTAIN)}" + ("" if name in INTENTS else _did_you_mean(name, CONTAIN)))
        return intents

    def prompt_keys(self) -> set[str]:
        keys = set(self.prompts.model_dump().values())
        if self.survey.enabled:
            keys |= {self.survey.question, self.survey.thanks}
        for flow in self.intents.values():
            keys |= {s.options.prompt for s in flow.steps if s.options.prompt}
        return keys


def _step(item: Any, index: int) -> dict:
    if isinstance(item, str):
        name, options = item, {}
    elif isinstance(item, dict) and len(item) == 1:
        [(name, options)] = item.items()
        options = options or {}
    else:
        raise ValueError(f"step {index + 1} must be a step name or `name: {{options}}`")
    if not isinstance(name, str):  # `- 5: {}` or `- null: {}`
        raise ValueError(f"step {index + 1} must be a step name or `name: {{options}}`, not {name!r}")
    if name not in STEP_OPTIONS:
        raise ValueError(f"unknown step {name!r}{_did_you_mean(name, STEP_OPTIONS)}; steps: {', '.join(STEP_OPTIONS)}")
    if not isinstance(options, dict):
        raise ValueError(f"options of step {name} must be a mapping")
    allowed = STEP_OPTIONS[name][0]
    if extra := set(options) - allowed:
        raise ValueError(f"step {name} takes no option {', '.join(sorted(map(repr, extra)))}"
                         + (f" (it takes: {', '.join(sorted(allowed))})" if allowed else ""))
    if name == "say" and not options.get("prompt"):
        raise ValueError("step say needs `prompt: <catalog key>`")
    fields = options.get("fields")
    if fields is not None and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
        raise ValueError(f"step {name}: fields must be a list of field names, e.g. "
                         f"fields: [{', '.join(sorted(FIELD_CHOICES[name]))}]")
    if bad := set(fields or ()) - FIELD_CHOICES.get(name, set()):
        raise ValueError(f"step {name} cannot handle field(s) {', '.join(sorted(bad))}; "
                         f"choose from {', '.join(sorted(FIELD_CHOICES[name]))}")
    return {"name": name, "options": options}


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def packaged_flows() -> Path:
    return Path(str(files("warmline.data") / "flows-en.yaml"))


def load_flows(path: Path, catalog_keys: set[str] | None = None) -> Flows:
    """Read and validate a flow file; with catalog_keys, every prompt it names must exist."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FlowError(f"flow file {path} does not exist: set [dialog] flows to a YAML file "
                        "(copy the packaged warmline/data/flows-en.yaml)") from None
    except IsADirectoryError:
        raise FlowError(f"flow file {path} is a folder: set [dialog] flows to the YAML file itself") from None
    except PermissionError:
        raise FlowError(f"flow file {path} is not readable: fix its permissions") from None
    except UnicodeDecodeError as exc:
        raise FlowError(f"{path}: not UTF-8 text (byte {exc.start}): save the flow file as UTF-8") from None
    except yaml.reader.ReaderError as exc:  # its str() is two lines
        raise FlowError(f"{path}: character {exc.character!r} at position {exc.position} is not allowed in YAML; "
                        "remove it") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise FlowError(f"{path}{where}: not valid YAML ({problem}); fix that line") from None
    except ValueError as exc:  # a scalar YAML resolves but cannot build: 2001-02-30, !!int x
        raise FlowError(f"{path}: a value YAML cannot read ({' '.join(str(exc).split())}); "
                        "fix it or quote it as a string") from None
    except RecursionError:
        raise FlowError(f"{path}: nested too deeply to read; a flow file needs only a few levels") from None
    try:
        flows = Flows.model_validate(raw if isinstance(raw, dict) else {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(shown_key(p) for p in err["loc"]) or "top level"
        raise FlowError(f"{path}: {where}: {err['msg'].removeprefix('Value error, ')}") from None
    if catalog_keys is not None and (missing := sorted(flows.prompt_keys() - catalog_keys)):
        raise FlowError(f"{path}: prompt(s) {', '.join(missing)} are not in the prompt catalog; "
                        "add them to [prompts] of the catalog or fix the names")
    return flows
