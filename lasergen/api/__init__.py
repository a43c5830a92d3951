"""The public API's own modules (what `lasergen.__all__` names lives here or in the core):
`sources` (qr, text, bitmap, svg, specs, machine), `job` (Job, Estimate), `prediction`
(Prediction, Verdict), `rig` (connect, Rig, Run), `seams` (how the core finds the simulator and
the device driver), `notebook` (pictures for Jupyter)."""
