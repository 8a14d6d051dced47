"""The text rules of the ranked search (philos/domain/search.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from philos.domain.search import (
    MARK_CLOSE,
    MARK_OPEN,
    fold,
    highlight,
    is_exact,
    names_similarity,
    search_words,
    text_score,
    word_similarity,
)


def test_fold_drops_case_and_accents() -> None:
    assert fold("Anattā") == fold("ANATTA") == "anatta"
    assert fold("Épochè") == "epoche"
    assert search_words("  Free   will, free!  ") == ["free", "will"]


def test_word_similarity_tolerates_one_edit() -> None:
    assert word_similarity("dharma", "dharma") == 1.0
    assert word_similarity("categor", "categorical") == 0.9
    assert 0.8 < word_similarity("dhxrma", "dharma") < 1.0
    assert word_similarity("dhrma", "dharma") > 0.8
    assert word_similarity("dhaxrma", "dharma") > 0.8
    assert word_similarity("dxxrma", "dharma") == 0.0  # two edits in a short word
    assert word_similarity("nihilixxm", "nihilism") > 0.7  # long words allow two


def test_names_rank_whole_names_above_longer_ones() -> None:
    assert names_similarity("Substance", "Substance", "[]") == 1.0
    own = names_similarity("Substanse", "Substance", "[]")
    longer = names_similarity("Substanse", "Deus sive Natura", '["Substance monism"]')
    assert own > longer > 0
    assert is_exact("volonte GENERALE", "General will", '["Volonté générale"]')
    assert not is_exact("volonte", "General will", '["Volonté générale"]')


def test_highlight_marks_the_first_matching_field() -> None:
    fields = ["Veil of ignorance", "Rawlsian veil", "A thought experiment."]
    assert highlight("ignorance veil", fields) == "«Veil» of «ignorance»"
    assert highlight("thought", fields) == "A «thought» experiment."
    assert highlight("absent", fields) is None
    body = "word " * 100 + "target " + "word " * 100
    cut = highlight("target", ["name", body])
    assert cut is not None and cut.startswith("…") and cut.endswith("…")
    assert "«target»" in cut and len(cut) < 400


@given(st.text(max_size=80), st.text(max_size=30))
def test_highlight_only_adds_marks(text: str, search: str) -> None:
    marked = highlight(search, [text])
    if marked is not None and len(text) <= 320:
        assert marked.replace(MARK_OPEN, "").replace(MARK_CLOSE, "") == text.replace(
            MARK_OPEN, ""
        ).replace(MARK_CLOSE, "")


_WORDS = st.sampled_from(["being", "time", "mind", "dasein", "ethics", "virtue", "self", "of"])
_TEXT = st.lists(_WORDS, max_size=12).map(" ".join)


@given(st.lists(_WORDS, min_size=1, max_size=3).map(" ".join), _TEXT, _TEXT, _TEXT)
def test_text_score_weighs_fields_and_stays_below_one(
    search: str, name: str, summary: str, body: str
) -> None:
    """The SQLite score of a searched list's cursors: from 0 to below 1, zero when no field
    holds a searched word, and a field holding every searched word counts more in a
    heavier field."""
    weights = (10.0, 2.0, 1.0)
    score = text_score(search, weights, (name, summary, body))
    assert 0.0 <= score < 1.0
    held = set(search_words(name + " " + summary + " " + body))
    if not held & set(search_words(search)):
        assert score == 0.0
    in_name = text_score(search, weights, (search, "", ""))
    in_body = text_score(search, weights, ("", "", search))
    assert in_name > in_body > 0.0
