import logging

from core.audit import current_request_id


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record so log lines of one request or task can be grouped."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True
