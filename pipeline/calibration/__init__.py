"""Setting up a camera's scene: `trafficcam scene check` and its pictures."""
