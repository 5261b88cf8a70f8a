"""Training losses: L1, edge (gradient-magnitude similarity), perceptual (VGG19, Danbooru ResNet50,
EfficientNet-Lite0, anime ResNet18), GAN and artifact (LDL: suppresses GAN artefacts).

:func:`apisr.losses.composite.build_generator_loss` turns a config's ``losses`` list
(:class:`apisr.losses.config.LossConfig`) into one module; the discriminator's own
loss is :func:`apisr.losses.gan.gan_loss` on real and fake verdicts.
"""
