"""Figures, tables and the HTML/Markdown/LaTeX report."""
