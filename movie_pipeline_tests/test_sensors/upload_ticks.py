"""Tick the upload sensor the way the daemon does, keeping what it logged."""

import logging

import dagster as dg

from movie_pipeline.resources import PipelineStorage
from movie_pipeline.sensors.upload_sensor import upload_sensor


class LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class Ticks:
    """Evaluates the sensor tick after tick the way the daemon does: cursor carried, partitions applied,
    and what it logged kept in `log.lines`."""

    def __init__(self, storage: PipelineStorage):
        self.instance = dg.DagsterInstance.ephemeral()
        self.storage = storage
        self.cursor: str | None = None
        self.log = LogLines()

    def tick(self) -> dg.SensorResult:
        with dg.build_sensor_context(
            instance=self.instance, cursor=self.cursor, resources={"storage": self.storage}
        ) as context:
            context.log.addHandler(self.log)
            result = upload_sensor(context)
        assert isinstance(result, dg.SensorResult)
        self.cursor = result.cursor
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result

    def requested(self, result: dg.SensorResult) -> list[str | None]:
        return [request.partition_key for request in result.run_requests or []]
