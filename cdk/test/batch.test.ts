import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_BATCH_MAX_CONCURRENCY } from '../lib/config';
import { Json, REPO_ROOT, arnOf, functionLogicalId, grants, logicalId, makeStack, synth } from './helpers';

const BATCH_ASL = path.join(REPO_ROOT, 'crates', 'gensec-lambda', 'state-machine', 'batch.asl.json');

function batchMachine(context: Record<string, unknown> = {}) {
  const { stack, template } = synth(context);
  const id = logicalId(stack, stack.batchStateMachine);
  const sm = template.findResources('AWS::StepFunctions::StateMachine')[id] as Json;
  expect(sm).toBeDefined();
  // The definition is inlined; the ARNs and names arrive as DefinitionSubstitutions.
  const text: string = sm.Properties.DefinitionString;
  expect(typeof text).toBe('string');
  return { stack, template, sm, id, text, substitutions: sm.Properties.DefinitionSubstitutions as Json };
}

function definitionOf(text: string): Json {
  return JSON.parse(text);
}

describe('batch state machine', () => {
  test('a STANDARD machine, X-Ray, ALL events without execution data, whose Distributed Map starts the pipeline', () => {
    const { sm, text } = batchMachine();
    expect(sm.Properties.StateMachineType).toBe('STANDARD');
    expect(sm.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(sm.Properties.LoggingConfiguration.Level).toBe('ALL');
    expect(sm.Properties.LoggingConfiguration.IncludeExecutionData).toBe(false);
    const definition = definitionOf(text);
    const map = definition.States.Services;
    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.ItemProcessor.States.Pipeline.Resource).toBe('arn:aws:states:::states:startExecution.sync:2');
    expect(map.ToleratedFailurePercentage).toBe(100);
    expect(map.ItemReader.Resource).toBe('arn:aws:states:::s3:getObject');
  });

  test('MaxConcurrency is 40 by default and follows -c batchMaxConcurrency', () => {
    expect(DEFAULT_BATCH_MAX_CONCURRENCY).toBe(40);
    expect(definitionOf(batchMachine().text).States.Services.MaxConcurrency).toBe(40);
    expect(definitionOf(batchMachine({ batchMaxConcurrency: '7' }).text).States.Services.MaxConcurrency).toBe(7);
    for (const bad of ['0', '-1', '2.5', 'many', '10001']) {
      expect(() => makeStack({ batchMaxConcurrency: bad })).toThrow(/batchMaxConcurrency/);
    }
  });

  test('the substitutions are the pipeline ARN, the output bucket and the batch and record-failure functions', () => {
    const { stack, text, substitutions } = batchMachine();
    const asl = fs.readFileSync(BATCH_ASL, 'utf8');
    const used = (t: string) => [...new Set([...t.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))].sort();
    expect(used(asl)).toEqual(['BatchFunctionArn', 'OutputBucketName', 'PipelineStateMachineArn', 'RecordFailureFunctionArn']);
    expect(used(text)).toEqual(used(asl));
    expect(substitutions).toEqual({
      BatchFunctionArn: arnOf(functionLogicalId(stack, 'batch')),
      RecordFailureFunctionArn: arnOf(functionLogicalId(stack, 'record_failure')),
      PipelineStateMachineArn: { Ref: logicalId(stack, stack.stateMachine) },
      OutputBucketName: { Ref: logicalId(stack, stack.outputBucket) },
    });
    // The file and the deployed definition differ only in MaxConcurrency.
    const file = JSON.parse(asl);
    const deployed = definitionOf(text);
    deployed.States.Services.MaxConcurrency = file.States.Services.MaxConcurrency;
    expect(deployed).toEqual(file);
  });

  test('its role: the two functions it invokes, the pipeline and its own child executions, the events rule of .sync, its items', () => {
    const { stack, template } = synth();
    const role = logicalId(stack, stack.batchStateMachine.role);
    const g = grants(template, role);
    expect(new Set(g.get('lambda:InvokeFunction'))).toEqual(
      new Set([arnOf(functionLogicalId(stack, 'batch')), arnOf(functionLogicalId(stack, 'record_failure'))]),
    );
    const text = (v: Json) => JSON.stringify(v);
    const start = (g.get('states:StartExecution') ?? []).map(text);
    expect(start).toHaveLength(2);
    expect(start).toContain(text({ Ref: logicalId(stack, stack.stateMachine) }));
    const machineName = (stack.batchStateMachine.node.defaultChild as Json).stateMachineName as string;
    expect(machineName).toMatch(/^[A-Za-z0-9-]{1,80}$/);
    expect(start.some((s) => s.includes(`:stateMachine:${machineName}`))).toBe(true);
    for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
      const on = (g.get(action) ?? []).map(text);
      expect(on).toHaveLength(2);
      expect(on.some((s) => s.includes(`:execution:${machineName}:*`))).toBe(true);
      // The pipeline's executions: its name, split from its ARN.
      expect(on.some((s) => s.includes(':execution:') && s.includes(logicalId(stack, stack.stateMachine)))).toBe(true);
    }
    for (const action of ['events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
      const on = (g.get(action) ?? []).map(text);
      expect(on).toHaveLength(1);
      expect(on[0]).toContain('rule/StepFunctionsGetEventsForStepFunctionsExecutionRule');
    }
    const items = (g.get('s3:GetObject') ?? []).map(text);
    expect(items).toHaveLength(1);
    expect(items[0]).toContain(logicalId(stack, stack.outputBucket));
    expect(items[0]).toContain('/_runs/*');
    expect(g.get('s3:PutObject')).toBeUndefined();
    expect(g.get('states:StartExecution')?.length).toBe(2);
  });

  test('the pipeline role does not invoke the batch function; the trigger may start both machines, the batch function neither', () => {
    const { stack, template } = synth();
    const pipelineInvoke = grants(template, logicalId(stack, stack.stateMachine.role)).get('lambda:InvokeFunction') ?? [];
    expect(pipelineInvoke).not.toContainEqual(arnOf(functionLogicalId(stack, 'batch')));
    const triggerRole = logicalId(stack, stack.roles.trigger);
    expect(new Set(grants(template, triggerRole).get('states:StartExecution'))).toEqual(
      new Set([{ Ref: logicalId(stack, stack.stateMachine) }, { Ref: logicalId(stack, stack.batchStateMachine) }]),
    );
    const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, 'trigger')] as Json;
    expect(fn.Properties.Environment.Variables.GENSEC_BATCH_STATE_MACHINE_ARN).toEqual({ Ref: logicalId(stack, stack.batchStateMachine) });
    const batchRole = logicalId(stack, stack.roles.batch);
    expect(grants(template, batchRole).get('states:StartExecution')).toBeUndefined();
    const batchFn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, 'batch')] as Json;
    expect(batchFn.Properties.Environment.Variables.GENSEC_STATE_MACHINE_ARN).toEqual({ Ref: logicalId(stack, stack.stateMachine) });
  });

  test('each Lambda task of the batch times out after its function does', () => {
    const { stack, template } = synth();
    const definition = JSON.parse(fs.readFileSync(BATCH_ASL, 'utf8')) as Json;
    const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(stack, 'batch')] as Json;
    for (const name of ['Resolve', 'Summarize']) {
      expect([name, fn.Properties.Timeout < definition.States[name].TimeoutSeconds]).toEqual([name, true]);
    }
  });
});
