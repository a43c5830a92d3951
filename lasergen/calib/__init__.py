"""Calibration: test grids with fiducials and labels (`grid`), measuring their photos
(`measure`), attenuator calibration (`attenuator`) and placing a job on a sample (`align`).

Image analysis here is vectorised numpy/scipy.ndimage; every image is read through `image`
(sRGB decoded to linear light, so intensities add and ratios mean something).
"""
