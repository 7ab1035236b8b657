"""sepgan: video frame interpolation with adaptive separable convolution.

Tensor conventions throughout the package: frames are RGB, float32 in [0, 1],
laid out B×C×H×W (C = 3). Time runs from frame0 (t = 0) to frame1 (t = 1); the
interpolated middle frame sits at t = 0.5.
"""

__version__ = "0.1.0"
