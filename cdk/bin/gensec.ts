#!/usr/bin/env node
/**
 * The gensec CDK app: one stack, `Gensec` (or `-c stackName=...`), environment-agnostic (the account
 * and region come from the credentials at deploy time), checked by cdk-nag's AWS Solutions rules.
 *
 * Lambda code, one of:
 *   (default)                 cargo-lambda-cdk builds each binary with `cargo lambda build` (needs cargo-lambda);
 *   -c prebuilt=../target/lambda   use binaries built by scripts/build-lambdas (`<dir>/<binary>/bootstrap`);
 *   -c skipBundling=true      build nothing: template only (synth/diff/review offline; not deployable).
 */
import { Annotations, App, Aspects } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GensecStack } from '../lib/gensec-stack';

const app = new App();
const skipBundling: unknown = app.node.tryGetContext('skipBundling');
const skip = skipBundling === true || (typeof skipBundling === 'string' && /^(true|1|yes)$/i.test(skipBundling));
if (skip) {
  // `cdk synth` always asks every stack to bundle; this is the app-side switch to skip it.
  app.node.setContext(cxapi.BUNDLING_STACKS, []);
}
const stackName: unknown = app.node.tryGetContext('stackName');
const stack = new GensecStack(app, typeof stackName === 'string' && stackName !== '' ? stackName : 'Gensec');
if (skip) {
  Annotations.of(stack).addWarningV2(
    'gensec:skip-bundling',
    'Lambda code was not built (-c skipBundling=true): the template is for review only; deploy with -c prebuilt=<dir> or with cargo-lambda installed.',
  );
}
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
