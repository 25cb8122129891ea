"""Evidence of a violation: the signed package, its clip, the recorder that stores
findings, and clearing what a killed writer left."""
