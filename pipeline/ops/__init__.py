"""Running the system well: camera health, evidence retention, system alerts and
`trafficcam doctor`."""
