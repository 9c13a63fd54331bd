import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE_NAMES, TableDef, TableName } from '../definitions/tables';
import { pascalCase } from '../definitions/functions';
import { Layer } from './layer';

export interface TablesProps {
  readonly key: kms.IKey;
  /** Keys, indexes and TTL: crates/gensec-aws/tables.json. */
  readonly defs: Record<TableName, TableDef>;
}

/**
 * The DynamoDB tables. Keys, indexes and TTL come from crates/gensec-aws/tables.json (the one
 * definition, shared with the Rust adapter tests); encryption, recovery, billing and retention here.
 */
export class Tables extends Layer {
  /** By their name in tables.json; construct ids `<Name>Table`. */
  public readonly byName: Record<TableName, dynamodb.Table>;
  private readonly defs: Record<TableName, TableDef>;

  constructor(scope: Construct, id: string, props: TablesProps) {
    super(scope, id);
    this.defs = props.defs;
    this.byName = Object.fromEntries(
      TABLE_NAMES.map((name) => [name, this.table(`${pascalCase(name)}Table`, props.defs[name], props.key)]),
    ) as Record<TableName, dynamodb.Table>;
  }

  /** The table's ARN and those of every index tables.json gives it (what a grant on the table covers). */
  arnsWithIndexes(name: TableName): string[] {
    const arn = this.byName[name].tableArn;
    return [arn, ...this.defs[name].indexes.map((index) => `${arn}/index/${index.name}`)];
  }

  private table(id: string, def: TableDef, key: kms.IKey): dynamodb.Table {
    const str = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });
    const table = new dynamodb.Table(this, id, {
      partitionKey: str(def.partition_key),
      sortKey: def.sort_key === undefined ? undefined : str(def.sort_key),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: def.ttl_attribute,
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
    for (const index of def.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: str(index.partition_key),
        sortKey: str(index.sort_key),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }
}
