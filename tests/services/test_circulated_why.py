"""A circulated agenda never carries a deferral reason (Hypothesis, hazard H76).

Whatever the chair typed as the reason, and wherever the deferral stands among an
item's other reasons (first, after a label the rules put in front, between others),
the text for the initials-only agenda says "Deferred" and none of the typed words.
"""

import re

from hypothesis import given
from hypothesis import strategies as st

from mdt_desk.models.enums import AgendaReason
from mdt_desk.services.display import label
from mdt_desk.services.meetings import (
    REASON_SEPARATOR,
    deferral_text,
    why_for_circulation,
    why_text,
)

#: words a chair might type: letters, digits and punctuation, semicolons included
typed = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "Zs"), exclude_characters="\n\r"),
    min_size=1,
    max_size=60,
).filter(lambda words: re.search(r"\w{3,}", words) is not None)

other_reasons = st.lists(
    st.sampled_from(["Review due 08-Dec-2026", "Carried 1× (from 02-Dec-2026)", "Escalated"]),
    max_size=2,
)


@given(
    reason=typed,
    label=st.sampled_from([label(reason) for reason in AgendaReason]),
    before=other_reasons,
    after=other_reasons,
)
def test_no_word_of_a_deferral_reason_reaches_a_circulated_agenda(
    reason: str, label: str, before: list[str], after: list[str]
) -> None:
    detail = REASON_SEPARATOR.join([*before, deferral_text(reason), *after])
    circulated = why_for_circulation(why_text(label, detail))
    assert "Deferred" in circulated
    kept_words = set(re.findall(r"\w+", circulated.casefold()))
    typed_words = {
        word
        for word in re.findall(r"\w+", reason.casefold())
        if len(word) >= 3 and word not in SAFE_WORDS
    }
    assert not typed_words & kept_words - label_and_rule_words(label, before, after)


#: words the rules themselves write, which a typed reason may happen to repeat
SAFE_WORDS = {"deferred", "reason", "given"}


def label_and_rule_words(label: str, before: list[str], after: list[str]) -> set[str]:
    return set(re.findall(r"\w+", " ".join([label, *before, *after]).casefold()))


def test_an_agenda_for_the_team_keeps_the_reason() -> None:
    why = why_text("Carried over", deferral_text("GP who knows her is on leave"))
    assert "GP who knows her is on leave" in why
    assert why_for_circulation(why) == "Carried over: Deferred"
