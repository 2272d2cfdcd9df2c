"""The PromQL catalogue: named, unit-labelled, traceable to a dashboard, and reading only real metric names."""

import pytest

from collectors import mm_queries
from collectors.mm_queries import CATALOGUE, UNITS
from simulator import build_scenario
from simulator.metrics import family_names

PROVENANCES = {"15582", "2539", "2542", "2545", "derived"}


def test_every_query_is_named_once_with_a_unit_and_a_provenance():
    assert len({q.name for q in CATALOGUE}) == len(CATALOGUE)
    for query in CATALOGUE:
        assert query.unit in UNITS, query.name
        assert query.provenance in PROVENANCES, query.name
        assert query.title and query.description.endswith("."), query.name


def test_every_metric_the_catalogue_reads_is_a_name_mattermost_exports():
    exported = set(family_names(build_scenario("large")))
    for query in CATALOGUE:
        assert query.metrics, query.name
        assert set(query.metrics) <= exported, (query.name, set(query.metrics) - exported)


def test_parameters_are_filled_in_and_escaped():
    promql = mm_queries.get("http_requests_per_second").promql(r'mm\.1:8067|"odd"', "90s")
    assert "$" not in promql
    assert r'instance=~"mm\\.1:8067|\"odd\""' in promql
    assert "[90s]" in promql


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="cpu_percent"):
        mm_queries.get("cpu")
