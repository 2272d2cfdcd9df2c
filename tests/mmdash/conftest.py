"""mmdash.logs.configure sets up the whole process's logging (and hands Streamlit's loggers over to it): put it
back as it was after each test."""

import logging
from collections.abc import Iterator

import pytest
import streamlit.logger


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    before = (list(root.handlers), root.level, logging.getLogger("mmdash").level)
    setup_formatter = streamlit.logger.setup_formatter
    streamlit_loggers = {name: (list(logger.handlers), logger.propagate)
                         for name, logger in streamlit.logger._loggers.items()}
    uvicorn_loggers = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
                       for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}
    yield
    root.handlers[:] = before[0]
    root.setLevel(before[1])
    logging.getLogger("mmdash").setLevel(before[2])
    streamlit.logger.setup_formatter = setup_formatter
    for name in list(streamlit.logger._loggers):
        if name not in streamlit_loggers:
            del streamlit.logger._loggers[name]
    for name, (handlers, propagate) in {**streamlit_loggers, **uvicorn_loggers}.items():
        logger = logging.getLogger("streamlit" if name == "root" else name)
        logger.handlers[:] = handlers
        logger.propagate = propagate
