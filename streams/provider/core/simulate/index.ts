/** The synthetic COATLI night (DC3 default input). See README.md in this folder for the model. */
export { Rng, POISSON_EXACT_MAX } from './rng.ts';
export { COATLI_CAMERA, geometry, makeDetector, medianOf, type CameraOptions, type Detector, type Geometry } from './camera.ts';
export { addMoffat, moffatAlpha, moffatEnclosed, bleedColumns, type StampResult } from './psf.ts';
export { DEFAULT_FIELD, afterglowMag, afterglowMeanRelFlux, fluxFromMag, magFromFlux, powerLawMag, seeingAt, type FieldOptions, type Star, type CatalogEntry, type FieldModel, type AfterglowModel } from './field.ts';
export { newBuffers, renderBias, renderDark, renderFlat, renderObject, digitize, type FrameBuffers, type PointSource } from './frames.ts';
export { DEFAULT_NIGHT, planNight, renderFrame, resolveOptions, frameCards, compactUtc, type Card, type FramePlan, type FrameTruth, type FrameType, type NightInput, type NightOptions, type NightPlan, type RenderedFrame, type StarOnFrame } from './night.ts';
export { burstIdFor, mxtIvorn, mxtVoevent, svomIsoTime } from './voevent.ts';
export { simulateNight, catalogCsv, readManifest, type FileKind, type ManifestFile, type NightManifest, type Progress, type SimulateNightOptions } from './write.ts';
