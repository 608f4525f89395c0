"""Drawing, apart from tracking: the overlay video, the figures and the HTML report.

- :mod:`spermtrack.viz.overlay`: :class:`~spermtrack.viz.overlay.OverlayRenderer` draws
  boxes, ids, speed-coloured trails and the fastest sperm over frames;
  :func:`~spermtrack.viz.overlay.render_overlay` streams them into an H.264 MP4;
- :mod:`spermtrack.viz.plots`: matplotlib figures (trajectories, WHO grades, speeds, box
  area over time, per-class box centre and size histograms) and :func:`~spermtrack.viz.plots.save_plots`;
- :mod:`spermtrack.viz.report`: one self-contained ``report.html`` from an analysis summary;
- :mod:`spermtrack.viz.style`: the colours and names they share.

Importing this package loads nothing heavy; overlay imports OpenCV, plots imports matplotlib when drawing.
See docs/pipeline.md.
"""
