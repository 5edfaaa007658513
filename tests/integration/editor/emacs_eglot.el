;;; emacs_eglot.el --- Emacs in batch mode as a real eglot client for ems.  -*- lexical-binding: t -*-
;; Loads the eglot set-up from docs/user/editors.md (the file in EMS_EMACS_SETUP), opens
;; EMS_TEST_ROOT/demo.py, waits for the server's diagnostics through Flymake, applies the fix-all
;; code action, saves and exits 0; prints the diagnostics as "ems-diagnostic: LINE: TEXT".
;; Any failure exits non-zero with a message on stderr.

(require 'package)
(package-initialize)                    ; Debian's elpa-eglot (Emacs 28) lives in site-lisp/elpa
(require 'eglot)
(require 'flymake)
(require 'python)

(defun ems-test-fail (format-string &rest args)
  (message "emacs-test: %s" (apply #'format format-string args))
  (kill-emacs 3))

(defun ems-test-wait (what predicate seconds)
  "Process events until PREDICATE is true; fail after SECONDS."
  (let ((deadline (+ (float-time) seconds)))
    (while (not (funcall predicate))
      (when (> (float-time) deadline)
        (ems-test-fail "timed out waiting for %s" what))
      ;; eglot-ensure and Flymake start from `post-command-hook', which batch mode never runs.
      (run-hooks 'post-command-hook)
      (accept-process-output nil 0.05))))

(setq eglot-sync-connect t
      eglot-connect-timeout 60
      eglot-events-buffer-size 0)

(load (getenv "EMS_EMACS_SETUP") nil t)

(let* ((root (file-name-as-directory (getenv "EMS_TEST_ROOT")))
       (target (expand-file-name "demo.py" root)))
  (find-file target)
  (unless (derived-mode-p 'python-mode)
    (ems-test-fail "demo.py opened in %s, not python-mode" major-mode))
  (ems-test-wait "eglot to connect" #'eglot-current-server 60)
  (ems-test-wait "eglot to manage the buffer" (lambda () (bound-and-true-p eglot--managed-mode)) 30)
  (flymake-start)
  (ems-test-wait "ems diagnostics" (lambda () (flymake-diagnostics)) 60)
  (dolist (diagnostic (flymake-diagnostics))
    (princ (format "ems-diagnostic: %d: %s\n"
                   (line-number-at-pos (flymake-diagnostic-beg diagnostic))
                   (flymake-diagnostic-text diagnostic))))
  ;; The documented fix-all: the server's source.fixAll.ems action, applied without asking.
  (eglot-code-actions (point-min) (point-max) "source.fixAll.ems" t)
  (ems-test-wait "the fix-all edit" (lambda () (buffer-modified-p)) 30)
  (save-buffer)
  (princ "ems-fixed\n")
  (eglot-shutdown (eglot-current-server))
  (kill-emacs 0))
