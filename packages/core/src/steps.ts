/**
 * Logic written once for synchronous and asynchronous callers: a generator
 * yields each request it needs answered (a system call, a program load) and
 * receives the answer, or the error, thrown in at the `yield`. These drive
 * such a generator, answering synchronously or awaiting each answer.
 *
 * @module
 */

/**
 * Runs `steps` to its end, answering each request with `answer` (its error
 * thrown into the generator).
 *
 * @example
 * function* twice(): Generator<number, number, number> { return (yield 1) + (yield 2); }
 * runSteps(twice(), (n) => n * 10); // 30
 */
export function runSteps<Request, Answer, Result>(steps: Generator<Request, Result, Answer>, answer: (request: Request) => Answer): Result {
  let step = steps.next();
  while (!step.done) {
    let value: Answer;
    try {
      value = answer(step.value);
    } catch (err) {
      step = steps.throw(err);
      continue;
    }
    step = steps.next(value);
  }
  return step.value;
}

/**
 * {@link runSteps} awaiting each answer.
 *
 * @example
 * function* twice(): Generator<number, number, number> { return (yield 1) + (yield 2); }
 * await runStepsAsync(twice(), async (n) => n * 10); // 30
 */
export async function runStepsAsync<Request, Answer, Result>(
  steps: Generator<Request, Result, Answer>,
  answer: (request: Request) => Answer | Promise<Answer>,
): Promise<Result> {
  let step = steps.next();
  while (!step.done) {
    let value: Answer;
    try {
      value = await answer(step.value);
    } catch (err) {
      step = steps.throw(err);
      continue;
    }
    step = steps.next(value);
  }
  return step.value;
}
