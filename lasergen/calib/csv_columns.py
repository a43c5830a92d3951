"""The columns of `calibrate measure`'s CSV, one row per grid cell (documented in its --help).
No imports: the command line reads this table to print its help without loading numpy."""

RECIPE_COLUMNS = ("energy_uJ", "rep_rate_kHz", "passes", "dwell_s", "speed_mm_s")
COLUMNS = {
    "cell": "cell name: row letter + column number, as engraved (B7)",
    "row": "row index from the top (0 = A)", "col": "column index from the left (0 = 1)",
    "mode": "dots or lines",
    "energy_uJ": "the cell's pulse energy", "rep_rate_kHz": "its repetition rate", "passes": "its passes",
    "dwell_s": "dot dwell (dots grids)", "speed_mm_s": "line speed (lines grids)",
    "present": "1 if a feature glows in the cell, else 0",
    "merged": "1 if the feature reaches the cell's edge (merged with a neighbour or too big: size unreliable)",
    "outside": "1 if part of the cell lies outside the photo",
    "area_um2": "lit area of the feature", "diameter_um": "equivalent diameter 2 sqrt(area / pi) (dots)",
    "width_um": "line width: median lit extent across the central half of the line (lines)",
    "length_um": "lit length of the line (lines)",
    "green_mean": "mean G channel above background over the feature (linear light, 0..1 of full scale)",
    "red_mean": "same, R channel",
    "green_rel": "green_mean / the fiducials' G glow interpolated to the cell (1 = the reference recipe)",
    "red_rel": "same, R channel",
    "green_sum_um2": "G above background integrated over the feature (linear light x um^2)",
    "red_sum_um2": "same, R channel",
    "background": "the cell's background glow (R+G+B, linear)", "noise": "its robust standard deviation",
    "x_px": "feature centroid in the photo, x", "y_px": "and y (pixels, y down)",
    "offset_um": "distance from the feature's centroid to the cell's planned centre",
    "um_per_px": "photo scale at the cell (from the fiducials)",
}
