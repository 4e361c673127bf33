// Loaded by karma.conf.js into the test page before the test bundle (a plain browser script).
// karma-jasmine reports an error in an afterAll (often an unhandled promise rejection that an
// earlier spec left behind) through __karma__.error, and karma ends the whole run on that. Here
// such an error becomes a failed result named "<suite full name> (afterAll)" instead, and the run
// goes on; the reporter in karma.conf.js treats it like any failed spec.
(function () {
  'use strict';
  var karma = window.__karma__;
  if (!karma || !window.jasmine) return;
  var converted = 0;
  var count = 0;
  var originalError = karma.error;
  karma.error = function (message) {
    if (converted > 0 && typeof message === 'string' && message.indexOf('An error was thrown in afterAll') === 0) {
      converted--;
      return false;
    }
    return originalError.apply(this, arguments);
  };
  function report(name, failedExpectations) {
    converted++;
    karma.result({
      fullName: name,
      description: '(afterAll)',
      id: 'mpsgpu-afterAll-' + (++count),
      log: failedExpectations.map(function (e) { return e.message + (e.stack ? '\n' + e.stack : ''); }),
      skipped: false,
      disabled: false,
      pending: false,
      success: false,
      suite: [],
      time: 0,
      executedExpectationsCount: failedExpectations.length,
      passedExpectations: [],
    });
  }
  // Added now, before karma-jasmine adds its own reporter at start: jasmine calls this one first.
  window.jasmine.getEnv().addReporter({
    suiteDone: function (result) {
      if (result.failedExpectations && result.failedExpectations.length) report(result.fullName + ' (afterAll)', result.failedExpectations);
    },
    jasmineDone: function (result) {
      if (result && result.failedExpectations && result.failedExpectations.length) report('(top-level afterAll)', result.failedExpectations);
    },
  });
})();
