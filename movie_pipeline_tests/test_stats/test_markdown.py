"""summary_markdown: headline, top-5 lists and coverage of one period, with names escaped."""

from movie_pipeline.stats.compute import compute_stats
from movie_pipeline.stats.markdown import escape_markdown, summary_markdown
from movie_pipeline_tests.test_stats.frames import details_frame, diary, entries_frame, film, lag_diary, tmdb


def test_all_time_summary() -> None:
    text = summary_markdown(compute_stats(*diary()))
    lines = text.splitlines()
    assert lines[0] == "### All time"
    # 12 entries, 6 films, 3 rewatches, 720 min = 12 h over Alpha, Beta, Gamma; mean 28 / 8 = 3.5; 5 of 6 rated = 83%.
    assert lines[1] == (
        "12 entries · 6 films · 3 rewatches · 12 h watched (runtime known for 3 of 6 films) "
        "· mean rating 3.50★ · 83% of films rated"
    )
    assert "Longest streak: 4 days (2021-12-31 → 2022-01-03)" in lines
    assert "- **Directors:** Ann Lee (2), Bo Chan (2)" in lines
    assert "- **Countries:** US (3), FR (1), GB (1)" in lines
    # Found 3 + override 1 = 4 with details; Epsilon pending, Delta not found.
    assert lines[-1] == "TMDB details for 4 of 6 films (1 still pending, 1 not found on TMDB)."


def test_year_summary_counts_only_that_year() -> None:
    text = summary_markdown(compute_stats(*diary()), "2022")
    assert text.startswith("### 2022\n5 entries · 5 films · 2 rewatches ·")


def test_top_lists_stop_at_five_and_names_are_escaped() -> None:
    genres = ["Drama", "Comedy", "Horror", "War", "Western", "Music", "Crime"]
    films = [
        film(
            f"f{i}",
            f"F{i}",
            2000,
            "found",
            **tmdb(["*Bold* [x](y) <b>"], [], genres[: i + 1], [], "en", 90, 6.0, 1, 1.0),
        )
        for i in range(7)
    ]
    stats = compute_stats(
        entries_frame(films, [(2 + i, f"f{i}", "2020-01-01", None, False, False) for i in range(7)]),
        details_frame(films),
    )
    text = summary_markdown(stats)
    # Drama is in all 7 films, Comedy in 6, ... Western in 3: the first five genres.
    assert "- **Genres:** Drama (7), Comedy (6), Horror (5), War (4), Western (3)\n" in text
    assert "- **Directors:** \\*Bold\\* \\[x\\](y) \\<b\\> (7)" in text


def test_escape_markdown_leaves_plain_text_alone() -> None:
    assert escape_markdown("Amélie (2001)") == "Amélie (2001)"
    assert escape_markdown("a_b|c#`d`") == "a\\_b\\|c\\#\\`d\\`"


def test_unenriched_summary_has_no_lists() -> None:
    films = [film("a", "A", 2001), film("b", "B", 2002)]
    rows = [(2, "a", "2020-05-01", 4.0, False, False), (3, "b", "2020-05-02", None, False, False)]
    text = summary_markdown(compute_stats(entries_frame(films, rows), details_frame(films)))
    # 2 entries on consecutive days; 1 of 2 films rated; no runtime known.
    assert text == (
        "### All time\n"
        "2 entries · 2 films · 0 rewatches · 0 h watched (runtime known for 0 of 2 films) · mean rating 4.00★ "
        "· 50% of films rated\n"
        "Longest streak: 2 days (2020-05-01 → 2020-05-02)\n"
        "\n"
        "TMDB details for 0 of 2 films (2 not looked up yet).\n"
    )


def test_release_lag_line_when_films_have_release_dates() -> None:
    # Median 198 days over A, G, B and E (see test_compute); the plain diary has no release dates.
    assert "Release to first watch: median 7 months over 4 films" in summary_markdown(compute_stats(*lag_diary()))
    assert "Release to first watch" not in summary_markdown(compute_stats(*diary()))
