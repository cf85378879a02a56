"""Rendering of an audit period: the evidence page (Jinja2 templates kept as files in
templates/, autoescaped), its inline SVG chart, and the lifecycle CSV."""
