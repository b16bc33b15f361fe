"""One export per person: when someone uploads a newer export, it replaces their older one in all-uploads stats."""

import polars as pl


def newest_upload_per_person(uploads: pl.DataFrame) -> list[str]:
    """Keys of the newest upload of each person (string columns upload, person, exported_at, registered_at).

    The person comes from profile.csv or the zip name; an upload with neither stands for a person of its own.
    Newest means the latest export date, else the latest registration."""
    if uploads.is_empty():
        return []
    newest = (
        uploads.with_columns(
            who=pl.coalesce(pl.col("person").str.to_lowercase(), pl.lit("upload:") + pl.col("upload")),
            when=pl.coalesce("exported_at", "registered_at"),
        )
        .sort("who", "when", "upload")
        .group_by("who", maintain_order=True)
        .last()
    )
    return sorted(newest["upload"].to_list())
