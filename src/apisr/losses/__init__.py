"""Training losses: L1, edge (gradient-magnitude similarity), chroma (L1 of Cb and Cr), perceptual
(VGG19, Danbooru ResNet50, EfficientNet-Lite0, anime ResNet18), GAN (optionally near edges only)
and artifact (LDL: suppresses GAN artefacts).

:func:`apisr.losses.composite.build_generator_loss` turns a config's ``losses`` list
(:class:`apisr.losses.config.LossConfig`) into one module; the discriminator's own
loss is :func:`apisr.losses.gan.gan_loss` on real and fake verdicts.
"""
