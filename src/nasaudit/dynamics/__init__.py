"""Training dynamics of architectures (architectures paper Sec. 4): loss landscapes, gradient variance,
sharpness and convergence speed. Import the submodules directly; this package file stays light."""
