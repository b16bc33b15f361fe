"""What tests read back from an in-process materialization."""

import dagster as dg


def metadata_of(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The metadata values of the one materialization of `asset` in `result`."""
    (event,) = result.asset_materializations_for_node(asset)
    return {name: value.value for name, value in event.metadata.items()}
