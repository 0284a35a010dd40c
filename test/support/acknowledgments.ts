/**
 * Reads the cdk-nag acknowledgments recorded in a construct tree, so infra tests can pin which
 * findings a stack accepts and that each carries a reason.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** One acknowledged finding: where it was recorded, the rule (with its detail) and the reason. */
export interface Acknowledgment {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every acknowledgment under `root` (metadata data: `{ "Annotation::<rule>": reason }`). */
export function acknowledgments(root: IConstruct): Acknowledgment[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([key, reason]) => ({
          path: c.node.path,
          id: key.replace(/^Annotation::/, ''),
          reason,
        })),
      ),
  );
}
