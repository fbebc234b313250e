"""The science wing: what the finished runs say, as tables, charts, sentences and a report.

    results       results read back from run records: best run, headline, paired comparisons
    charts        plotly figures from the tables the package computes (pages and report share them)
    deviations    every way this project differs from the study and the papers it follows
    study_tables  the study's tables and the sentences beside them (cells, beyond the study, notes)
    answer        what the runs say: the study's questions answered in numbers and in words
    beyond        work beyond the study's grid: preset runs pooled over their split seeds
    report        the study's story as one standalone HTML file (report_data, then render_report)
    slides        the study as a deck for class, built on the report's data part

May import: training, inference, runs, config, models, data, metrics and the shared bottom
(tomjerry, paths, atomic, quiet); never lab. This file imports nothing.
"""
