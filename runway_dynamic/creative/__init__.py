"""Creative workflows built on the spec engine, the client and the sandbox.

- :mod:`~runway_dynamic.creative.plan` / :mod:`~runway_dynamic.creative.planner` /
  :mod:`~runway_dynamic.creative.external`: short-video plans, our deterministic planner and
  the ``claude``/``codex`` planners;
- :mod:`~runway_dynamic.creative.executor`: runs a plan (pre-flight, concurrent shots,
  keyframes, per-shot results saved in the plan) and :mod:`~runway_dynamic.creative.ffmpeg`
  joins the clips;
- :mod:`~runway_dynamic.creative.recipes`: product-photoshoot, marketplace-cards, ad-video;
- :mod:`~runway_dynamic.creative.soul_id`, :mod:`~runway_dynamic.creative.gallery`,
  :mod:`~runway_dynamic.creative.workflows`, :mod:`~runway_dynamic.creative.webproducts`.

Nothing here imports typer or rich; models, ratios and fields come from the catalog.
"""
