import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { LambdaCodeSource } from '../config';
import { FunctionDef, FunctionDefs, functionWithHandler } from '../definitions/functions';
import { FunctionResources, environmentOf, grantTouches } from './function-access';
import { Layer } from './layer';

export interface FunctionsProps {
  readonly defs: FunctionDefs;
  readonly code: LambdaCodeSource;
  readonly key: kms.IKey;
  /** Where the asynchronously invoked functions' failed events go. */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * Every function of crates/gensec-lambda/functions.json with its own role and log group. The role
 * starts with the grants every function has (its log group, the key); `connect` adds the
 * environment and the grants of each function's definition once the resources they name exist
 * (the state machine needs the functions first).
 */
export class Functions extends Layer {
  /** By id in functions.json. */
  public readonly functions: Record<string, lambda.Function> = {};
  public readonly roles: Record<string, iam.Role> = {};
  private readonly defs: FunctionDefs;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    this.defs = props.defs;
    for (const def of props.defs.functions) {
      this.create(def, props);
    }
  }

  /** The function with this handler (trigger, remediation, ...). */
  withHandler(handler: string): lambda.Function {
    return this.functions[functionWithHandler(this.defs, handler).id];
  }

  /** The functions the state machine invokes, by their substitution in the ASL file. */
  byAslSubstitution(): Record<string, lambda.Function> {
    return Object.fromEntries(
      this.defs.functions.flatMap((def) =>
        def.aslSubstitution === undefined ? [] : [[def.aslSubstitution, this.functions[def.id]]],
      ),
    );
  }

  /** Each function's environment and the grants of its `touches`. */
  connect(resources: FunctionResources): void {
    for (const def of this.defs.functions) {
      for (const [name, value] of Object.entries(environmentOf(def, resources))) {
        this.functions[def.id].addEnvironment(name, value);
      }
      grantTouches(this.roles[def.id], def, resources);
    }
  }

  private create(def: FunctionDef, props: FunctionsProps): void {
    const role = new iam.Role(this, `${def.constructId}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${def.binary}`,
    });
    const logGroup = new logs.LogGroup(this, `${def.constructId}LogGroup`, {
      // The security profile's retention (logging.retention_days: 365); retained with deletion protection.
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.key,
      deletionProtectionEnabled: true,
    });
    // Instead of AWSLambdaBasicExecutionRole (logs:* on every log group): this function's log group only.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...this.defs.logGroupActions], resources: [logGroup.logGroupArn] }),
    );
    // The key: S3 SSE-KMS, DynamoDB, SNS and the encrypted environment.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...this.defs.keyActions], resources: [props.key.keyArn] }));
    const dlq = def.deadLetterQueue;
    const common = {
      description: def.description,
      role,
      memorySize: def.memoryMb,
      timeout: Duration.seconds(def.timeoutSeconds),
      architecture: lambda.Architecture.ARM_64,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      environmentEncryption: props.key,
      ...(dlq === undefined
        ? {}
        : {
            deadLetterQueue: props.deadLetterQueue,
            retryAttempts: dlq.retryAttempts,
            maxEventAge: Duration.hours(dlq.maxEventAgeHours),
          }),
    } satisfies Partial<lambda.FunctionProps>;
    this.functions[def.id] =
      props.code.kind === 'prebuilt'
        ? new lambda.Function(this, def.constructId, {
            ...common,
            runtime: lambda.Runtime.PROVIDED_AL2023,
            handler: 'bootstrap',
            code: lambda.Code.fromAsset(prebuiltDir(props.code.dir, def.binary)),
          })
        : new RustFunction(this, def.constructId, {
            ...common,
            runtime: 'provided.al2023',
            manifestPath: props.code.manifestPath,
            binaryName: def.binary,
            bundling: { cargoLambdaFlags: ['--package', 'gensec-lambda'] },
          });
    this.roles[def.id] = role;
  }
}

function prebuiltDir(dir: string, binary: string): string {
  const binDir = path.join(dir, binary);
  if (!fs.existsSync(path.join(binDir, 'bootstrap'))) {
    throw new Error(
      `${binDir}/bootstrap not found: build the Lambdas first (scripts/build-lambdas, i.e. cargo lambda build --release --arm64 --package gensec-lambda)`,
    );
  }
  return binDir;
}
