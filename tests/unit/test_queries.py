"""Page info (``philos.resolvers.queries._page_info``): what the store found, and the cursors of
the page's first and last rows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from philos.domain import PageResult
from philos.resolvers.queries import _page_info


@given(st.lists(st.text(min_size=1), max_size=100), st.booleans(), st.booleans())
def test_page_info_describes_the_page(cursors: list[str], has_next: bool, previous: bool) -> None:
    result: PageResult[object] = PageResult(
        items=[object() for _ in cursors],
        total=len(cursors) + 5,
        has_next=has_next,
        has_previous=previous,
    )
    info = _page_info(result, cursors)
    assert info.has_next_page == has_next
    assert info.has_previous_page == previous
    if not cursors:
        assert info.start_cursor is None and info.end_cursor is None
    else:
        assert (info.start_cursor, info.end_cursor) == (cursors[0], cursors[-1])
