"""The parts of ``scripts/ship_report.py``: shared loading (``common``), the tables
(``tables``), the sentences made of figures (``notes``) and the model cards (``cards``).

The prose lives in ``scripts/ship_report_prose.toml``; these modules only fill it in.
"""
