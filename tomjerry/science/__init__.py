"""The science wing: what the finished runs say, as tables, charts, sentences and a report.

    results     results read back from run records: best run, headline, paired comparisons
    charts      plotly figures from the tables the package computes (pages and report share them)
    deviations  every way this project differs from the study and the papers it follows
    report      the study's story as one standalone HTML file (a data part and its rendering)

May import: training, inference, runs, config, models, data, metrics and the shared bottom
(tomjerry, paths, atomic, quiet); never lab. This file imports nothing.
"""
