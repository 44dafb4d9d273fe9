"""Flow files (YAML an admin edits): Flows, or FlowError in one line naming the file."""

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from warmline.dialog.flows import STEP_OPTIONS, FlowError, Flows, load_flows, packaged_flows

from tests.fuzz.clean import assert_clean
from tests.fuzz.mutate import junk, mutated

PACKAGED = yaml.safe_load(packaged_flows().read_text(encoding="utf-8"))
CATALOG = Flows.model_validate(PACKAGED).prompt_keys()


@pytest.fixture(scope="module")
def flow_path(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-flows") / "flows.yaml"


def load_or_clean_error(path, content: bytes, catalog: set[str] | None = None) -> None:
    path.write_bytes(content)
    try:
        flows = load_flows(path, catalog)
    except FlowError as exc:
        assert_clean(exc, FlowError)
        assert str(path) in str(exc), f"the message does not name the file: {exc}"
        return
    assert isinstance(flows, Flows)


@given(st.binary(max_size=300))
@example(b"\x00")  # yaml's ReaderError reads as two lines
def test_arbitrary_bytes(flow_path, content):
    load_or_clean_error(flow_path, content)


@given(st.text(alphabet=st.sampled_from("intents:steps- []{},&*!?|>'\"\n #0123456789abc"), max_size=120))
@example("version: 2001-02-30\n")  # yaml builds a date: a bare ValueError escaped
@example("version: !!int x\n")  # an explicit tag over a value it cannot convert: ValueError
@example("intents: " + "[" * 5000)  # RecursionError in yaml's composer
def test_yaml_ish_text(flow_path, text):
    load_or_clean_error(flow_path, text.encode())


step_items = (st.sampled_from(sorted(STEP_OPTIONS)) | junk
              | st.dictionaries(st.sampled_from(sorted(STEP_OPTIONS)) | st.text(max_size=8),
                                st.dictionaries(st.sampled_from(["prompt", "fields", "channel", "offers"]), junk,
                                                max_size=2) | junk, min_size=1, max_size=2))


@st.composite
def flow_like(draw):
    """The packaged flow file with fields dropped, retyped or added, and steps of any shape."""
    doc = draw(mutated(PACKAGED))
    if isinstance(doc, dict) and isinstance(doc.get("intents"), dict) and draw(st.booleans()):
        name = draw(st.sampled_from(sorted(map(str, doc["intents"])) or ["billing_inquiry"]) | st.text(max_size=10))
        doc["intents"][name] = {"steps": draw(st.lists(step_items, max_size=3))}
    return yaml.safe_dump(doc, allow_unicode=draw(st.booleans())).encode()


def flow(steps: str) -> bytes:
    return f"version: 1\nintents:\n  policy_details:\n    steps: [verify_identity, {steps}]\n".encode()


@given(flow_like(), st.sampled_from([None, CATALOG]))
@example(flow("{read_policy: {fields: [[]]}}"), None)  # TypeError: unhashable type: 'list'
@example(flow("{read_policy: {fields: [null]}}"), None)  # TypeError joining a None into the message
@example(flow("{read_policy: {fields: 5}}"), None)  # TypeError: 'int' object is not iterable
@example(flow("{5: {}}"), None)  # difflib was asked to match an int: TypeError
@example(flow("{read_policy: {null: 1, x: 2}}"), None)  # sorting None with str: TypeError
@example(b'version: 1\nintents:\n  "\\x1E": null\n', None)  # a key's control character split the line
def test_the_packaged_flows_mutated(flow_path, content, catalog):
    load_or_clean_error(flow_path, content, catalog)
