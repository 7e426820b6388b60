"""Prometheus metrics of one App, in a registry of its own (never the global default)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events = Counter("sbcc_events_handled", "Room events handled", registry=r)
        self.commands = Counter("sbcc_commands", "Commands by name and outcome",
                                ["command", "outcome"], registry=r)
        self.command_seconds = Histogram(
            "sbcc_command_seconds", "Time from a command's arrival to its handling's end",
            ["command"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r)
        self.sync_lag = Gauge("sbcc_sync_lag_seconds", "Seconds since the last good sync",
                              registry=r)
        self.scheduled_jobs = Gauge("sbcc_scheduled_jobs", "Jobs in the scheduler", registry=r)
        self.role = Gauge("sbcc_role", "1 for this process's role: the leader syncs, runs jobs "
                          "and takes web writes; a standby waits to take over", ["role"],
                          registry=r)
        self.members = Gauge("sbcc_members", "Members per location (room record)",
                             ["location"], registry=r)
        self.collaborations = Gauge("sbcc_collaborations", "Collaborations by status",
                                    ["status"], registry=r)
        self.cross_border = Gauge("sbcc_connections_cross_border_ratio",
                                  "Share of connections that cross a border", registry=r)
        # the advisory workflow over all requests ever made (bot.features.advice.stats):
        # cleared before each refresh, so combinations that no longer occur disappear
        self.advice_requests = Gauge(
            "sbcc_advice_requests", "Advisory requests by status, location (empty: none given) "
            "and sector", ["status", "location", "sector"], registry=r)
        self.advice_seconds = Gauge(
            "sbcc_advice_seconds", "Seconds from an advisory request's arrival to its first "
            "claim or answer (stage), median or mean (stat)", ["stage", "stat"], registry=r)
        self.advice_outcomes = Gauge("sbcc_advice_outcomes",
                                     "Closed advisory requests by outcome", ["outcome"],
                                     registry=r)
        self.advice_rating = Gauge("sbcc_advice_rating",
                                   "Requesters' ratings (1-5) of advice: average, count",
                                   ["stat"], registry=r)
