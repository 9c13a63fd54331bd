import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BucketName } from '../definitions/functions';
import { Layer } from './layer';

/**
 * The stack's KMS key and its buckets: input (uploads), output (run outputs) and the access-log
 * bucket both log to. Everything here is retained when the stack is deleted.
 */
export class Storage extends Layer {
  public readonly key: kms.Key;
  public readonly accessLogBucket: s3.Bucket;
  /** security-profile/*.json (stored only) and service-request/*.json (each upload starts a run). */
  public readonly inputBucket: s3.Bucket;
  /** <service_id>/<request_id>/... run outputs (the root README, "Output layout"). */
  public readonly outputBucket: s3.Bucket;
  /** The data buckets by their name in functions.json. */
  public readonly buckets: Record<BucketName, s3.Bucket>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = this.createKey();
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      // Server access log delivery supports SSE-S3 only on the destination bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.inputBucket = this.dataBucket('InputBucket', 'input/');
    this.outputBucket = this.dataBucket('OutputBucket', 'output/');
    this.buckets = { input: this.inputBucket, output: this.outputBucket };
  }

  private createKey(): kms.Key {
    const key = new kms.Key(this, 'Key', {
      description: 'gensec: encrypts buckets, tables, log groups, the alert topic and Lambda environments',
      enableKeyRotation: true,
      // The longest waiting period before a scheduled deletion (gensec's cfg_kms_key_deletion_window).
      pendingWindow: Duration.days(30),
      // Retained data (tables, buckets) is unreadable without its key.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Stated, not left to defaults: single-Region, lockout safety check kept (gensec's KMS proactive rules).
    const cfnKey = key.node.defaultChild as kms.CfnKey;
    cfnKey.multiRegion = false;
    cfnKey.bypassPolicyLockoutSafetyCheck = false;
    // CloudWatch Logs encrypts this stack's log groups with the key (only log groups of this account and region).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogs',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
    // CloudWatch alarms publish to the KMS-encrypted alert topic.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    return key;
  }

  private dataBucket(id: string, logPrefix: string): s3.Bucket {
    return new s3.Bucket(this, id, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: logPrefix,
      lifecycleRules: [
        {
          id: 'tidy-versions-and-uploads',
          noncurrentVersionExpiration: Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
