"""The one partitions definition every asset shares: one partition per dropped upload."""

import dagster as dg

uploads_partitions = dg.DynamicPartitionsDefinition(name="uploads")
