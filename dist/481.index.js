const K=481,W=[481],j={8791:((L,O,h)=>{h.d(O,{t:()=>x});var m=h(7197),w=h(428),u=h(3042);function $(v){return u.xf.find(_=>_.name===v)?.default??""}function x(v,_={}){return{privateKey:v("ssh-private-key"),knownHosts:v("ssh-known-hosts"),acceptNewHostKeys:(0,m.q6)("ssh-accept-new-host-keys",v("ssh-accept-new-host-keys"),$("ssh-accept-new-host-keys")==="true"),extraOptions:(0,w.K_)(v("ssh-options")),sudo:(0,m.nL)("sudo",v("sudo"),["auto","true","false"],$("sudo")),connectTimeout:(0,m.EJ)("ssh-connect-timeout",v("ssh-connect-timeout"),Number($("ssh-connect-timeout")),{max:600}),allowUserKnownHosts:_.terminal===!0}}}),5632:((L,O,h)=>{h.d(O,{$W:()=>S,jJ:()=>M,o9:()=>A});var m=h(7197);const w=[[/^would stop the following units(?: as well)?:/,"stop"],[/^would NOT stop the following changed units(?: as well)?:/,"notStopped"],[/^would NOT restart the following changed units(?: as well)?:/,"notStopped"],[/^would reload the following units:/,"reload"],[/^would restart the following units:/,"restart"],[/^would start the following units:/,"start"],[/^stopping the following units(?: as well)?:/,"stop"],[/^NOT restarting the following changed units(?: as well)?:/,"skipped"],[/^reloading the following units:/,"reload"],[/^restarting the following units:/,"restart"],[/^starting the following units:/,"start"],[/^the following new units were started:/,"newlyStarted"],[/^warning: the following units failed:/,"failed"],[/^warning: the following user units failed:/,"failedUserUnits"]],u=/^warning: user activation for ([A-Za-z0-9._@-]{1,64}\$?) failed$/,$=[/^would activate the configuration\.\.\.$/,/^activating the configuration\.\.\.$/],x=[/^would restart systemd$/,/^restarting systemd\.\.\.$/],v="service|socket|target|timer|mount|path|slice|scope|swap|automount|device",_=new RegExp(`^[A-Za-z0-9:_.@\\\\-]+\\.(?:${v})$`);function A(y){return y.length<=256&&_.test(y)}function M(y){const g={stop:new Set,restart:new Set,reload:new Set,start:new Set,notStopped:new Set,skipped:new Set,newlyStarted:new Set,failed:new Set,failedUserUnits:new Set},b=new Set;let C=!1;const P=[],e=(0,m.aJ)(String(y??"")).split(/\r?\n|\r/);for(let l=0;l<e.length;l++){const t=e[l].trim();if(t===""||$.some(a=>a.test(t)))continue;if(x.some(a=>a.test(t))){C=!0;continue}const o=u.exec(t);if(o){b.add(o[1]);continue}const i=w.find(([a])=>a.test(t));if(!i){P.push(t);continue}const[r,c]=i;let f=t.replace(r,"");for(;f.trim().endsWith(",")&&l+1<e.length&&e[l+1].trim()!=="";)l++,f+=" "+e[l].trim();let d=!1;for(const a of f.split(",")){const s=a.trim();s!==""&&(A(s)?g[c].add(s):d=!0)}d&&P.push(t)}const n=l=>[...l].sort();return{stop:n(g.stop),restart:n(g.restart),reload:n(g.reload),start:n(g.start),notStopped:n(g.notStopped),skipped:n(g.skipped),newlyStarted:n(g.newlyStarted),failed:n(g.failed),failedUserUnits:n(g.failedUserUnits),failedUsers:n(b),restartSystemd:C,lines:P}}function S(y){const g=[];return y.failed.length&&g.push(`units failed: ${y.failed.join(", ")}`),y.failedUserUnits.length&&g.push(`user units failed: ${y.failedUserUnits.join(", ")}`),y.failedUsers.length&&g.push(`user activation failed for ${y.failedUsers.join(", ")}`),g.length?g.join("; "):"units failed: see the log"}}),526:((L,O,h)=>{h.d(O,{G:()=>c});var m=h(2091),w=h(23),u=h(428);const $="/run/nix-deploy",x="/nix/var/nix/profiles/system",v=`
restore_profile() {
  p=/nix/var/nix/profiles
  cur=$(readlink "$p/system" 2>/dev/null || true)
  if [ -n "$2" ] && [ -L "$p/$2" ] && [ "$(readlink -f "$p/$2")" = "$1" ]; then
    ln -sfn "$2" "$p/system.nix-deploy-tmp" && mv -T "$p/system.nix-deploy-tmp" "$p/system" || return 1
    if [ "$3" = delete ] && [ -n "$cur" ] && [ "$cur" != "$2" ] && [ "$(readlink -f "$p/$cur")" != "$1" ]; then
      n=\${cur#system-}; n=\${n%-link}
      nix-env -p "$p/system" --delete-generations "$n" >/dev/null 2>&1 || true
    fi
  else
    nix-env -p "$p/system" --set "$1" || return 1
  fi
}
`,_=`
probe_state() {
  want_path=$1
  cur=$(readlink -f /run/current-system 2>/dev/null || true)
  [ -n "$cur" ] && [ -e "$cur" ] || cur=
  gen=$(readlink ${x} 2>/dev/null || true)
  prof=$(readlink -f ${x} 2>/dev/null || true)
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
  sd=no; if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then sd=yes; fi
  fl=no; if command -v flock >/dev/null 2>&1; then fl=yes; fi
  want=no; if [ -n "$want_path" ] && [ -e "$want_path" ]; then want=yes; fi
  printf 'current=%s\\ngeneration=%s\\nprofile=%s\\nboot=%s\\nsystemd=%s\\nflock=%s\\nhas-wanted=%s\\n' "$cur" "$gen" "$prof" "$boot" "$sd" "$fl" "$want"
}
`,A=_+`
probe_state "$1"
`,M=_+`
d=$1
mkdir -p "$d" && chmod 700 "$d" || exit 70
exec 9>>"$d/lock" || exit 70
if ! flock -n 9; then
  echo "nix-deploy-lock-busy $(cat "$d/lock.info" 2>/dev/null | head -c 300 | tr '\\n' ' ')"
  exit 75
fi
printf '%s\\n' "$2" > "$d/lock.info"
probe_state "$4"
echo nix-deploy-lock-acquired
timeout "$3" cat > /dev/null
rm -f "$d/lock.info"
`,S=v+`
d=$1; id=$2
armed=$(cat "$d/armed-$id" 2>/dev/null || date +%s)
while :; do
  [ -e "$d/confirm-$id" ] && exit 0
  now=$(date +%s)
  if [ -s "$d/deadline-$id" ]; then deadline=$(cat "$d/deadline-$id")
  elif [ -s "$d/switch-$id.end" ]; then deadline=$(( $(cat "$d/switch-$id.end") + $3 ))
  else deadline=$(( armed + $6 + $3 )); fi
  [ "$now" -ge "$deadline" ] && break
  sleep 1
done
exec 7>"$d/wd-$id.lock"; flock 7
[ -e "$d/confirm-$id" ] && exit 0
exec >"$d/rollback-$id.log" 2>&1
flock -u 7
echo "nix-deploy: not confirmed by $(date -u +%Y-%m-%dT%H:%M:%SZ); restoring \${4:-nothing}"
if [ -z "$4" ]; then echo 3 > "$d/rollback-$id.exit"; exit 3; fi
# Wait for a running activation to end first (it may be the one that cut the connection).
n=0; while [ -e "$d/switch-$id.log" ] && [ ! -s "$d/switch-$id.exit" ] && [ $n -lt 600 ]; do sleep 1; n=$((n+1)); done
if [ "$5" != test ]; then restore_profile "$4" "$7" delete || { echo 1 > "$d/rollback-$id.exit"; exit 1; }; fi
if [ "$5" = boot ]; then act=boot; elif [ "$5" = test ]; then act=test; else act=switch; fi
"$4/bin/switch-to-configuration" "$act"
echo $? > "$d/rollback-$id.exit"
`,y=`
d=$1; id=$2
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/confirm-$id" "$d/deadline-$id" "$d/rollback-$id.log" "$d/rollback-$id.exit"
wd=$d/watchdog-$id.sh
(umask 077 && printf '%s
' "$7" > "$wd.tmp") && mv -f "$wd.tmp" "$wd" || exit 70
date +%s > "$d/armed-$id"
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-watchdog-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" -- /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" || exit 71
else
  setsid /bin/sh "$wd" "$1" "$2" "$3" "$4" "$5" "$6" "$8" </dev/null >/dev/null 2>&1 &
  echo $! > "$d/watchdog-$id.pid"
fi
echo armed
`,g=v+`
d=$1; id=$2; top=$3; act=$4
mkdir -p "$d" && chmod 700 "$d" || exit 70
rm -f "$d/switch-$id.exit" "$d/switch-$id.end"
: > "$d/switch-$id.log"
if [ "$5" = set ]; then
  nix-env -p ${x} --set "$top" || { echo "nix-deploy: could not set the system profile" >&2; exit 90; }
elif [ "$5" = restore ] || [ "$5" = restore-delete ]; then
  restore_profile "$top" "$7" "\${5#restore-}" || { echo "nix-deploy: could not restore the system profile" >&2; exit 90; }
fi
echo "nix-deploy-profile $(readlink ${x} 2>/dev/null)"
# The detached job, as a file (not inside the unit: see the top of this file).
job=$d/switch-$id.sh
(umask 077 && printf '%s
' '"$1/bin/switch-to-configuration" "$2" >"$3" 2>&1; rc=$?; date +%s >"$4.end"; echo $rc >"$4.exit"' > "$job.tmp") && mv -f "$job.tmp" "$job" || exit 70
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --unit "nix-deploy-switch-$id" --collect --quiet --property=Type=exec --setenv=PATH="$PATH" --setenv=LOCALE_ARCHIVE="\${LOCALE_ARCHIVE:-}" -- /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" || exit 71
else
  setsid /bin/sh "$job" "$top" "$act" "$d/switch-$id.log" "$d/switch-$id" </dev/null >/dev/null 2>&1 &
fi
echo nix-deploy-activation-started
`+b();function b(){return`
n=0; limit=$(( $6 * 5 ))
while [ ! -s "$d/switch-$id.exit" ]; do
  sleep 0.2; n=$((n+1))
  if [ $n -ge $limit ]; then echo "nix-deploy: activation still running after $6 s" >&2; exit 91; fi
done
cat "$d/switch-$id.log" >&2
exit "$(cat "$d/switch-$id.exit")"
`}const C=`
d=$1; id=$2
[ -e "$d/switch-$id.log" ] || { echo "nix-deploy: no activation $id on this host" >&2; exit 93; }
`+b(),P=`
d=$1; id=$2
[ -e "$d/rollback-$id.log" ] && { echo fired; exit 92; }
echo $(( $(date +%s) + $3 )) > "$d/deadline-$id.tmp" && mv -f "$d/deadline-$id.tmp" "$d/deadline-$id"
echo extended
`,e=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then echo fired; exit 92; fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
rm -f "$d/watchdog-$id.pid" "$d/watchdog-$id.sh" "$d/armed-$id" "$d/deadline-$id" "$d/wd-$id.lock"
echo confirmed
`,n=`
d=$1; id=$2
exec 7>"$d/wd-$id.lock"; flock 7
if [ -e "$d/rollback-$id.log" ]; then
  flock -u 7
  n=0; while [ ! -s "$d/rollback-$id.exit" ] && [ $n -lt 6000 ]; do sleep 0.1; n=$((n+1)); done
  echo "fired $(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  exit 0
fi
touch "$d/confirm-$id"
flock -u 7
if [ -s "$d/watchdog-$id.pid" ]; then kill "$(cat "$d/watchdog-$id.pid")" 2>/dev/null || true; fi
if [ -d /run/systemd/system ]; then systemctl stop "nix-deploy-watchdog-$id.service" >/dev/null 2>&1 || true; fi
echo disarmed
`,l=`
d=$1; id=$2
if [ -e "$d/rollback-$id.log" ]; then
  echo "fired=$(cat "$d/rollback-$id.exit" 2>/dev/null || echo running)"
  sed 's/^/log=/' "$d/rollback-$id.log" | tail -n 20
else
  echo fired=no
fi
`,t=`
cd /nix/var/nix/profiles 2>/dev/null || exit 0
for l in system-*-link; do
  [ -L "$l" ] || continue
  n=\${l#system-}; n=\${n%-link}
  printf '%s %s\\n' "$n" "$(readlink -f "$l")"
done
`,o=`
setsid /bin/sh -c 'sleep 1; if [ -d /run/systemd/system ]; then systemctl reboot; else reboot; fi' </dev/null >/dev/null 2>&1 &
echo rebooting
`,i=6e4;function r(f){const d=/system-(\d+)-link$/.exec(f.trim());return d?Number(d[1]):null}class c{session;remote;logger;constructor(d,a,s){this.session=d,this.remote=a,this.logger=s}get host(){return this.remote.host}script(d,a,s,p,k=i,E=!0){return(0,u.mW)(this.session,this.remote,d,a,{timeoutMs:k,phase:s,what:p,logger:this.logger,check:E})}async probe(d,a="probe"){const s=await this.script(A,[d],a,"reading the current system");return this.parseProbe(s.stdout.split(`
`),a)}parseProbe(d,a){const s=new Map;for(const p of d){const k=p.indexOf("=");k>0&&s.set(p.slice(0,k),p.slice(k+1).trim())}if(!s.has("current"))throw new m.lZ(`Host ${this.host}, phase ${a}: the host's answer could not be read (is its login shell POSIX?).`,{host:this.host,phase:a});return{current:s.get("current")||null,generation:r(s.get("generation")??""),generationLink:/^system-\d+-link$/.test(s.get("generation")??"")?s.get("generation"):null,profile:s.get("profile")||null,bootId:s.get("boot")??"",systemd:s.get("systemd")==="yes",flock:s.get("flock")==="yes",hasWanted:s.get("has-wanted")==="yes"}}async lock(d,a,s=""){const k=[...this.session.needsSudo(this.remote)?["sudo","-n","--"]:[],"sh","-c",M,"nix-deploy",$,d,String(a),s],E=(0,w.kp)(this.session.sshArgv(this.remote,k.map(w.ZL).join(" ")),{timeoutMs:(a+60)*1e3,logger:this.logger}),H=await E.waitForLine(I=>I.startsWith("nix-deploy-lock-"),6e4);if(H==="nix-deploy-lock-acquired")return{state:this.parseProbe(E.lines,"lock"),release:async()=>{E.closeInput(),await Promise.race([E.done,new Promise(U=>setTimeout(U,5e3,null))])===null&&E.kill()}};E.kill();const D=await E.done;if(H?.startsWith("nix-deploy-lock-busy")){const I=H.slice(20).trim();throw new m.lZ(`Host ${this.host}, phase lock: another deploy is running on this host${I?` (${I})`:""}; try again when it has finished.`,{host:this.host,phase:"lock"})}if(D.exitCode===u.M2)throw new m.lZ(`Host ${this.host}, phase lock: could not connect: ${(0,u.eG)(D.stderr)}.`,{host:this.host,phase:"lock"});const T=D.stderr.trim().split(`
`).pop()??"";throw new m.lZ(`Host ${this.host}, phase lock: could not take the deploy lock${/flock.*not found/.test(D.stderr)?" (flock is missing on the host)":T?`: ${T}`:""}.`,{host:this.host,phase:"lock"})}async armWatchdog(d,a,s,p,k,E){const H=[$,d,String(a),s??"",k,String(E),S,p??""];await this.script(y,H,"arm","arming the rollback watchdog")}async activate(d,a,s,p,k,E,H=""){const D=[$,d,a,s,p,String(k),H],T=await(0,u.mW)(this.session,this.remote,g,D,{timeoutMs:(k+30)*1e3,phase:"activate",what:"activating",logger:this.logger,check:!1,onStderrLine:E}),I=T.stdout.split(`
`).find(R=>R.startsWith("nix-deploy-profile ")),U=T.stdout.includes("nix-deploy-activation-started"),N=T.exitCode===u.M2||T.timedOut||U&&T.exitCode===null;return{exitCode:N?null:T.exitCode,output:T.stderr,connectionLost:N,profileLink:I?I.slice(19).trim():null}}async waitActivation(d,a){const s=await(0,u.mW)(this.session,this.remote,C,[$,d,"","","",String(a)],{timeoutMs:(a+30)*1e3,phase:"activate",what:"waiting for the activation",logger:this.logger,check:!1}),p=s.exitCode===u.M2||s.timedOut;return{exitCode:p?null:s.exitCode,output:s.stderr,connectionLost:p}}async extend(d,a){const s=await this.script(P,[$,d,String(a)],"verify","opening a new SSH connection",i,!1);if(s.exitCode===0)return!0;if(s.exitCode===92)return!1;throw new m.lZ(`Host ${this.host}, phase verify: a new SSH connection to the new generation failed: ${s.exitCode===u.M2?(0,u.eG)(s.stderr):`exit code ${s.exitCode}`}.`,{host:this.host,phase:"verify"})}async confirm(d){const a=await this.script(e,[$,d],"confirm","confirming the deployment",i,!1);if(a.exitCode===0)return"confirmed";if(a.exitCode===92)return"fired";throw new m.lZ(`Host ${this.host}, phase confirm: confirming failed with exit code ${a.exitCode}.`,{host:this.host,phase:"confirm"})}async disarm(d){const s=(await this.script(n,[$,d],"rollback","disarming the watchdog",10*i)).stdout.trim().split(`
`).pop()??"";return s.startsWith("fired")?{fired:!0,exit:s.slice(6).trim()}:{fired:!1,exit:""}}async watchdogState(d){const s=(await this.script(l,[$,d],"rollback","reading the watchdog",i)).stdout.split(`
`),p=(s.find(k=>k.startsWith("fired="))??"fired=no").slice(6);return{fired:p!=="no",exit:p==="no"?"":p,log:s.filter(k=>k.startsWith("log=")).map(k=>k.slice(4))}}async generations(d="resolve"){return(await this.script(t,[],d,"listing the system generations")).stdout.split(`
`).map(s=>/^(\d+) (\/\S+)$/.exec(s.trim())).filter(s=>s!==null).map(s=>({generation:Number(s[1]),storePath:s[2]})).sort((s,p)=>s.generation-p.generation)}async reboot(){await this.script(o,[],"reboot","rebooting the host")}async waitForBoot(d,a){const s=Date.now()+a*1e3;for(;Date.now()<s;){await new Promise(p=>setTimeout(p,1e3));try{const p=await this.probe("","reboot");if(p.bootId&&p.bootId!==d)return p}catch{}}return null}}}),3143:((L,O,h)=>{h.d(O,{Fm:()=>A,UD:()=>P,zw:()=>v});var m=h(2091),w=h(3709),u=h(5237);const $=`cs: builtins.mapAttrs (name: c:
  let
    try = v: let r = builtins.tryEval v; in if r.success then r.value else null;
    cfg = c.config or {};
    dep = try (cfg.deployment or null);
    str = v: if builtins.isString v then v else null;
  in {
    hostName = str (try (cfg.networking.hostName or null));
    fqdn = str (try (cfg.networking.fqdn or null));
    system = str (try (cfg.nixpkgs.hostPlatform.system or cfg.nixpkgs.system or c.pkgs.stdenv.hostPlatform.system or null));
    targetHost = if dep == null then null else str (try (dep.targetHost or null));
    targetUser = if dep == null then null else str (try (dep.targetUser or null));
    targetPort = if dep == null then null else (let p = try (dep.targetPort or null); in if builtins.isInt p then p else null);
    tags = if dep == null then [] else (let t = try (dep.tags or []); in if builtins.isList t then builtins.filter builtins.isString t else []);
  }) cs`,x=`d:
  let
    str = v: if builtins.isString v then v else null;
    opts = v: if builtins.isList v then builtins.filter builtins.isString v else [];
  in {
    sshUser = str (d.sshUser or null);
    sshOpts = opts (d.sshOpts or []);
    nodes = builtins.mapAttrs (n: v: {
      hostname = str (v.hostname or null);
      sshUser = str (v.sshUser or null);
      user = str (v.user or null);
      sshOpts = opts (v.sshOpts or []);
    }) (d.nodes or {});
  }`;async function v(e,n={}){const l=await(0,w.g1)(`${e}#nixosConfigurations`,{apply:$,logger:n.logger,cwd:n.cwd,phase:"evaluate",what:`evaluating the hosts of '${e}'`});if(l===void 0)throw new m.lZ(`The flake '${e}' has no nixosConfigurations output, so it has no hosts.`,{phase:"evaluate",input:"flake"});const t=await(0,w.g1)(`${e}#deploy`,{apply:x,logger:n.logger,cwd:n.cwd,phase:"evaluate",what:`evaluating deploy.nodes of '${e}'`});return Object.keys(l).sort().map(o=>_(o,l[o],t))}function _(e,n,l){(0,u.Eo)(e,"A nixosConfigurations attribute name");const t=Array.isArray(n.tags)?n.tags:[];for(const o of t)if(!/^[A-Za-z0-9._-]{1,64}$/.test(o))throw new m.lZ(`Host ${e} has an invalid tag in deployment.tags (letters, digits, '.', '_' and '-' only).`,{host:e,phase:"evaluate"});try{return{name:e,system:n.system,hostName:n.hostName,fqdn:n.fqdn,tags:t,...M(e,n,l)}}catch(o){if(!(o instanceof m.lZ))throw o;return{name:e,system:n.system,hostName:n.hostName,fqdn:n.fqdn,tags:t,target:null,targetError:o,targetSource:"",sshOptions:[]}}}function A(e){if(e.target)return e.target;throw e.targetError??new m.lZ(`Host ${e.name} has no SSH target.`,{host:e.name})}function M(e,n,l){const t=l?.nodes?.[e];let o,i,r=[];if(t?.hostname){i=`Host ${e}'s deploy.nodes.${e}.hostname`;const c=t.sshUser??l?.sshUser??null;o=(0,u.hu)(c?`${c}@${S(t.hostname)}`:S(t.hostname),i);const f=[...y(l?.sshOpts),...y(t.sshOpts)];r=b(f,`deploy.nodes.${e}.sshOpts`,e);const d=r.indexOf("-p");d>=0&&(o={...o,port:Number(r[d+1])},r=[...r.slice(0,d),...r.slice(d+2)])}else if(n.targetHost){i=`Host ${e}'s config.deployment.targetHost`;let c=S(n.targetHost);n.targetUser&&(c=`${n.targetUser}@${c}`),n.targetPort&&(c=`${c}:${n.targetPort}`),o=(0,u.hu)(c,i)}else n.fqdn?(i=`Host ${e}'s config.networking.fqdn`,o=(0,u.hu)(n.fqdn,i)):n.hostName?(i=`Host ${e}'s config.networking.hostName`,o=(0,u.hu)(n.hostName,i)):(i=`Host ${e}'s attribute name`,o=(0,u.hu)(e,i));return{target:o,targetSource:i,sshOptions:r}}function S(e){return e.includes(":")&&!e.startsWith("[")?`[${e}]`:e}function y(e){return Array.isArray(e)?e.filter(n=>typeof n=="string"):[]}const g=new Set(["port","connecttimeout","connectionattempts","serveraliveinterval","serveralivecountmax","compression","ipqos","addressfamily","tcpkeepalive","proxyjump"]);function b(e,n,l){const t=[],o=(i,r)=>{throw new m.lZ(`Host ${l}: ${n} contains the ssh option '${C(i)}', which is not allowed from flake data (${r}); pass it through the workflow's 'ssh-options' input instead.`,{host:l,phase:"evaluate"})};for(let i=0;i<e.length;i++){const r=e[i];if(r==="-4"||r==="-6"||r==="-C")t.push(r);else if(r==="-p"||r.startsWith("-p")){const c=r==="-p"?e[++i]:r.slice(2);(!c||!/^\d{1,5}$/.test(c))&&o(r,"the port must be a number"),t.push("-p",c)}else if(r==="-J"||r.startsWith("-J")){const c=r==="-J"?e[++i]:r.slice(2);c||o(r,"a jump host is missing"),(0,u.hu)(c,`${n} (-J)`),t.push("-J",c)}else if(r==="-o"||r.startsWith("-o")){const c=r==="-o"?e[++i]:r.slice(2),f=/^([A-Za-z]+)\s*[= ]\s*([A-Za-z0-9@._:[\]-]{1,255})$/.exec(c??"");f||o(c??r,"expected -o Key=Value"),g.has(f[1].toLowerCase())||o(`-o${c}`,`'${f[1]}' can run commands or weaken host key checking`),t.push("-o",`${f[1]}=${f[2]}`)}else o(r,"only -p, -J, -4, -6, -C and a few -o options are accepted")}return t}function C(e){const n=JSON.stringify(e).slice(1,-1);return n.length>60?`${n.slice(0,57)}...`:n}async function P(e,n,l={}){for(const r of n)(0,u.Eo)(r,`host '${r}'`);const o=`cs: builtins.listToAttrs (map (n: { name = n; value = cs.\${n}.config.system.build.toplevel.drvPath; }) (builtins.filter (n: cs ? \${n}) ${`[ ${n.map(w.z7).join(" ")} ]`}))`;return await(0,w.g1)(`${e}#nixosConfigurations`,{apply:o,logger:l.logger,cwd:l.cwd,phase:l.phase??"evaluate",what:`evaluating the toplevel derivations of ${n.length} host(s) in '${e}'`})??{}}}),1031:((L,O,h)=>{h.d(O,{L:()=>w,a:()=>m});function m(u){if(u<1e3)return`${u} ms`;const $=u/1e3;if($<60)return`${$.toFixed(1)} s`;const x=Math.floor($/60);return`${x} min ${Math.round($-x*60)} s`}function w(u,$,x=`${$}s`){return`${u} ${u===1?$:x}`}}),428:((L,O,h)=>{h.d(O,{K_:()=>n,M2:()=>g,eG:()=>e,mW:()=>C,vM:()=>y,yU:()=>b});var m=h(3024),w=h.n(m),u=h(8161),$=h.n(u),x=h(6760),v=h.n(x),_=h(2091),A=h(23),M=h(9147),S=h(5237);class y{settings;dir;keyFile;knownHostsFile;constructor(t,o,i,r){this.settings=t,this.dir=o,this.keyFile=i,this.knownHostsFile=r}static create(t,o=$().tmpdir()){t.privateKey&&M.O.add(t.privateKey);const i=t.knownHosts.trim();if(!i&&!t.acceptNewHostKeys&&!t.allowUserKnownHosts)throw new _.lZ("Input 'ssh-known-hosts' is required to connect to hosts: give the hosts' known_hosts lines (ssh-keyscan, checked), or set ssh-accept-new-host-keys: true to trust keys on first contact.",{input:"ssh-known-hosts",phase:"connect"});const r=/\s/.test(o)?$().tmpdir():o;w().mkdirSync(r,{recursive:!0});const c=w().mkdtempSync(v().join(r,"nix-deploy-ssh-"));w().chmodSync(c,448);let f=null;if(t.privateKey.trim()){f=v().join(c,"id");const a=t.privateKey.replace(/\r\n/g,`
`).trim()+`
`;if(!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(a))throw w().rmSync(c,{recursive:!0,force:!0}),new _.lZ("Input 'ssh-private-key' is not a private key (expected a '-----BEGIN \u2026 PRIVATE KEY-----' block).",{input:"ssh-private-key"});w().writeFileSync(f,a,{mode:384})}let d=null;return(i||t.acceptNewHostKeys)&&(d=v().join(c,"known_hosts"),w().writeFileSync(d,i?i.replace(/\r\n/g,`
`)+`
`:"",{mode:384})),new y(t,c,f,d)}commonOptions(){const t=[];return this.keyFile&&t.push("-i",this.keyFile,"-o","IdentitiesOnly=yes"),this.knownHostsFile&&t.push("-o",`UserKnownHostsFile=${this.knownHostsFile}`,"-o","GlobalKnownHostsFile=/dev/null"),t.push("-o",`StrictHostKeyChecking=${this.settings.acceptNewHostKeys?"accept-new":"yes"}`),t.push("-o","BatchMode=yes","-o",`ConnectTimeout=${this.settings.connectTimeout}`,"-o","ServerAliveInterval=5","-o","ServerAliveCountMax=3","-o","ControlMaster=no","-o","ControlPath=none","-o","LogLevel=ERROR"),t}sshArgv(t,o){return["ssh",...this.commonOptions(),...this.settings.extraOptions,...t.hostOptions,"-p",String(t.target.port),"--",(0,S.jK)(t.target),o]}nixStore(t){const o=(0,S.dK)(t.target),i=[...this.commonOptions(),...this.settings.extraOptions,...t.hostOptions,...o.sshOpts];for(const r of i)if(/\s/.test(r))throw new _.lZ(`The ssh option '${r}' contains whitespace, which nix cannot pass on (NIX_SSHOPTS is split on spaces).`,{host:t.host,input:"ssh-options"});return{uri:o.uri,env:{NIX_SSHOPTS:i.join(" ")}}}needsSudo(t){return this.settings.sudo==="true"?!0:this.settings.sudo==="false"?!1:t.target.user!=="root"}dispose(){w().rmSync(this.dir,{recursive:!0,force:!0})}}const g=255;async function b(l,t,o,i){const c=(i.privileged!==!1&&l.needsSudo(t)?["sudo","-n","--",...o]:o).map(A.ZL).join(" "),f=await(0,A.eF)(l.sshArgv(t,c),{timeoutMs:i.timeoutMs,check:!1,input:i.input,logger:i.logger,onStdoutLine:i.onStdoutLine,onStderrLine:i.onStderrLine});if(i.check===!1||f.exitCode===0&&!f.timedOut)return f;throw P(t,f,i)}async function C(l,t,o,i,r){return b(l,t,["sh","-c",o,"nix-deploy",...i],r)}function P(l,t,o){const i=`${l.host} (${l.target.user}@${l.target.host}:${l.target.port})`;let r;if(t.timedOut)r=`timed out after ${Math.round(o.timeoutMs/1e3)} s`;else if(t.exitCode===g)r=`could not connect: ${e(t.stderr)}`;else{const f=t.stderr.trim().split(`
`).filter(Boolean).pop()??"";r=`failed with exit code ${t.exitCode}${f?`: ${f.slice(0,300)}`:""}`}const c=new _.lZ(`Host ${i}, phase ${o.phase}: ${o.what} ${r}.`.replace(/\.\.$/,"."),{host:l.host,phase:o.phase});return c.result=t,c}function e(l){const t=l.trim();if(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/.test(t))return/No .* host key is known|not in the list of known hosts/i.test(t)||!/CHANGED/.test(t)?"its host key is not in ssh-known-hosts (host key verification failed)":"its host key does not match the pinned key in ssh-known-hosts (host key verification failed)";if(/Permission denied/.test(t))return"permission denied (the key was not accepted)";if(/Connection refused/.test(t))return"connection refused";if(/timed out/i.test(t))return"connection timed out";if(/Could not resolve hostname/.test(t))return"the host name does not resolve";if(/No route to host/.test(t))return"no route to host";const o=t.split(`
`).filter(Boolean).pop();return o?o.slice(0,200):"ssh exited with code 255"}function n(l){return l.split(/\s+/).filter(Boolean)}})};export{K as id,W as ids,j as modules};
